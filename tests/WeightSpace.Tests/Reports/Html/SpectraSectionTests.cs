using WeightSpace.Analysis.Spectra;
using WeightSpace.Reports.Html.Sections;

namespace WeightSpace.Tests.Reports.Html;

/// <summary>The spectra section names the estimator and solver behind each α (issue 17: users read α against WW's band).</summary>
public sealed class SpectraSectionTests
{
    private static LayerSpectrum Layer(string name, string estimator, string solver) => new()
    {
        Name = name, Shape = [4, 3], Kind = "dense", Status = LayerStatus.Ok, Alpha = 2.5, LambdaMax = 0.1, NumEvals = 3,
        AlphaEstimator = estimator, Solver = solver,
    };

    [Fact]
    public void Notes_NameEachEstimatorAndSolver_WithTheirLayerCounts()
    {
        LayerSpectrum[] layers = [Layer("a", "ww", "gram"), Layer("b", "ww", "gram"), Layer("c", "csn", "svd")];
        var report = new SpectrumReport("in/memory", layers, SpectrumSummaries.Summarize(layers));

        var section = SpectraSection.Build(report, "spectra", "Spectra", null);

        Assert.Contains(section.Notes, n => n.StartsWith("α of 2 layers: estimator ww (WeightWatcher 0.7.5.5's WWFit", StringComparison.Ordinal) && n.Contains("gram (eigvalsh"));
        Assert.Contains(section.Notes, n => n.StartsWith("α of 1 layer: estimator csn (Clauset–Shalizi–Newman", StringComparison.Ordinal) && n.Contains("svd (svdvals)"));
    }

    [Fact]
    public void EsdFigure_IsTheOneSpectrumPlotsDraws()
    {
        double[] evals = [.. Enumerable.Range(1, 40).Select(i => 1.0 / i)];
        var heavy = Layer("heavy", "ww", "gram") with { Alpha = 1.8, Xmin = 0.1, Xmax = 1, NumTailEvals = 10, KsDistance = 0.05, MpLambdaPlus = 0.2, Eigenvalues = evals, NumEvals = 40 };
        LayerSpectrum[] layers = [Layer("a", "ww", "gram"), heavy];
        var report = new SpectrumReport("in/memory", layers, SpectrumSummaries.Summarize(layers));

        var figure = Assert.Single(SpectraSection.Build(report, "spectra", "Spectra", null).Figures, f => f.Id == "esd");

        // One factory: the report embeds exactly the SVG `spectrum --plots` writes for the layer with the smallest α.
        // (ScottPlot numbers clip paths with a process-wide counter, so the ids are not compared.)
        static string Ids(string svg) => System.Text.RegularExpressions.Regex.Replace(svg, "cl_[0-9a-f]+", "cl_");
        Assert.Equal(Ids(WeightSpace.Reports.ReportPlots.ToSvg(WeightSpace.Reports.Spectra.SpectrumPlots.Esd(heavy, evals, dashes: false))), Ids(figure.Svg));
        Assert.Contains("MP bulk edge", figure.Svg);
    }
}
