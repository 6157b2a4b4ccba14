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
}
