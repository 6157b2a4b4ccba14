using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for a spectral analysis: α and λ_max by layer, the ESD of the most heavy-tailed layer, and
/// the per-layer metric table.</summary>
public static class SpectraSection
{
    // The thresholds the analysis flags layers with (SpectrumOptions' defaults; the CLI does not change them), for the
    // text and the plot's guide lines only: which layers are flagged comes from the analysis.
    private static readonly SpectrumOptions Limits = new();

    /// <summary>Builds the section and adds its headline findings to <paramref name="findings"/>.</summary>
    public static ReportSection Build(SpectrumReport report, string id, string title, string? commandLine, IList<ReportFinding>? findings = null)
    {
        var section = new ReportSection(id, title)
        {
            Description = "Empirical spectral density of each layer's weight matrix and its power-law tail (Martin & Mahoney's heavy-tailed " +
                          string.Create(CultureInfo.InvariantCulture, $"self-regularization): α < {Limits.OverTrainedAlpha:G} suggests an over-trained layer, α > {Limits.UnderTrainedAlpha:G} an under-trained one."),
            CommandLine = commandLine,
        };
        var ok = report.Layers.Where(l => l.Status == LayerStatus.Ok).ToList();
        var fitted = ok.Where(l => l.Alpha is not null).ToList();
        if (fitted.Count > 0)
        {
            var plot = ReportPlots.Create($"Power-law α by layer — {Path.GetFileName(report.Path)}", "layer (file order)", "α");
            double[] xs = Enumerable.Range(0, fitted.Count).Select(i => (double)i).ToArray();
            var bars = plot.Add.Bars(xs, fitted.Select(l => l.Alpha!.Value).ToArray());
            bars.Color = ScottPlot.Color.FromHex("#2f6fdf");
            var low = plot.Add.HorizontalLine(Limits.OverTrainedAlpha, 1.5f, ScottPlot.Color.FromHex("#c2410c"), ScottPlot.LinePattern.Dashed);
            low.LegendText = string.Create(CultureInfo.InvariantCulture, $"α = {Limits.OverTrainedAlpha:G} (over-trained below)");
            var high = plot.Add.HorizontalLine(Limits.UnderTrainedAlpha, 1.5f, ScottPlot.Color.FromHex("#7c3aed"), ScottPlot.LinePattern.Dashed);
            high.LegendText = string.Create(CultureInfo.InvariantCulture, $"α = {Limits.UnderTrainedAlpha:G} (under-trained above)");
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
            section.Figures.Add(new ReportFigure("alpha", $"Power-law exponent α of each of the {fitted.Count} fitted layers; dashed lines mark the over- and under-trained thresholds.", ReportPlots.ToSvg(plot)));

            var heaviest = fitted.MinBy(l => l.Alpha!.Value)!;
            if (heaviest.Eigenvalues is { Count: > 1 } evals)
                section.Figures.Add(new ReportFigure("esd", $"ESD of {heaviest.Name} (smallest α = {heaviest.Alpha:F2}): density of λ on log-log axes with the fitted power-law tail, x_min and the MP bulk edge (the figure spectrum --plots writes).",
                    ReportPlots.ToSvg(WeightSpace.Reports.Spectra.SpectrumPlots.Esd(heaviest, evals, dashes: false))));
        }
        var table = new ReportTable("layers", "Layers", "layer", "shape", "kind", "status", "evals", "α", "α̂ (weighted)", "KS D",
            "λ_max", "stable rank", "effective rank", "MP soft rank", "spikes", "reason");
        // Analysed layers first (in file order), then failed, then skipped ones with their reasons.
        foreach (var l in report.Layers.OrderBy(l => l.Status switch { LayerStatus.Ok => 0, LayerStatus.Failed => 1, _ => 2 }))
            table.AddRow(l.Name, "[" + string.Join(", ", l.Shape) + "]", l.Kind, l.Status.ToWord(), (long?)l.NumEvals, l.Alpha, l.AlphaWeighted, l.KsDistance,
                l.LambdaMax, l.StableRank, l.EffectiveRank, l.MpSoftRank, (long?)l.NumSpikes, l.Reason ?? l.Warning);
        section.Tables.Add(table);
        var s = report.Summary;
        section.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"{s.LayersOk} layers analysed, {s.LayersSkipped} skipped (each with its reason), {s.LayersFailed} failed. Mean α {s.Alpha.Mean:F2}, median {s.Alpha.Median:F2}."));
        // Users read α against WeightWatcher's 2–6 band, so the report says which x_min search produced it.
        foreach (var group in fitted.GroupBy(l => (l.AlphaEstimator ?? "unknown", l.Solver ?? "unknown")))
            section.Notes.Add($"α of {Count(group.Count(), "layer")}: estimator {EstimatorName(group.Key.Item1)}, eigenvalues by {SolverName(group.Key.Item2)}.");

        if (findings is not null)
        {
            // The analysis flags each layer (LayerSpectrum.Warning); the section only reports the flags.
            var over = fitted.Where(l => l.Warning == "over-trained").Select(l => l.Name).ToList();
            var under = fitted.Where(l => l.Warning == "under-trained").Select(l => l.Name).ToList();
            string model = Path.GetFileName(report.Path);
            if (over.Count > 0)
                findings.Add(new ReportFinding($"{model}: {Count(over.Count, "layer")} look over-trained (α < {Limits.OverTrainedAlpha:G}): {List(over)}", FindingLevel.Warning, id));
            if (under.Count > 0)
                findings.Add(new ReportFinding($"{model}: {Count(under.Count, "layer")} look under-trained (α > {Limits.UnderTrainedAlpha:G}): {List(under)}", FindingLevel.Warning, id));
            if (over.Count == 0 && under.Count == 0 && fitted.Count > 0)
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture, $"{model}: none of the {fitted.Count} fitted layers is flagged over- or under-trained (median α {s.Alpha.Median:F2})"), FindingLevel.Good, id));
        }
        AddLayerRoleFigures(section, WeightSpace.Reports.Transformer.LayerRolePlots.SpectrumGrids(report));
        return section;
    }

    private static string EstimatorName(string estimator) => estimator switch
    {
        "ww" => "ww (WeightWatcher 0.7.5.5's WWFit: one-sided KS, every eigenvalue a candidate x_min)",
        "csn" => "csn (Clauset–Shalizi–Newman: two-sided KS, minimum tail of 10)",
        _ => estimator,
    };

    private static string SolverName(string solver) => solver switch
    {
        "gram" => "gram (eigvalsh of the smaller Gram matrix)",
        "svd" => "svd (svdvals)",
        _ => solver,
    };

    internal static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    internal static string List(IReadOnlyList<string> names) =>
        names.Count <= 4 ? string.Join(", ", names) : string.Join(", ", names.Take(4)) + $" and {names.Count - 4} more";

    /// <summary>The transformer view: a block × role heatmap and per-role profiles per metric, or a note saying the
    /// naming is unknown and the flat view stands. Shared with <see cref="TaskVectorSection"/>.</summary>
    internal static void AddLayerRoleFigures(ReportSection section, IReadOnlyList<(string Stem, string Metric, WeightSpace.Analysis.Naming.LayerRoleGrid Grid)> grids)
    {
        if (grids.Count == 0)
        {
            section.Notes.Add($"Layer × role view: {WeightSpace.Reports.Transformer.LayerRolePlots.FallbackNote}.");
            return;
        }
        foreach (var (stem, metric, grid) in grids)
        {
            section.Figures.Add(new ReportFigure($"layer-role-{stem.Replace('.', '-')}", $"{metric} of each block's tensors by role (blank: no such tensor or not analysed).",
                ReportPlots.ToSvg(WeightSpace.Reports.Transformer.LayerRolePlots.Heatmap(grid, metric))));
            section.Figures.Add(new ReportFigure($"layer-role-{stem.Replace('.', '-')}-profiles", $"{metric} across depth, one line per role.",
                ReportPlots.ToSvg(WeightSpace.Reports.Transformer.LayerRolePlots.Profiles(grid, metric))));
        }
    }
}
