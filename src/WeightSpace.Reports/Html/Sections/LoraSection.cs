using WeightSpace.Analysis.Lora;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for what a LoRA adapter changes (<c>weightspace lora analyze --report</c>): ‖ΔW‖/‖W‖ by
/// layer, the per-module table with ΔW's effective rank, and the intruder dimensions of W + ΔW.</summary>
public static class LoraSection
{
    /// <summary>Builds the section; the intruder count goes to <paramref name="findings"/>.</summary>
    /// <param name="modules">Per-module analysis (<see cref="LoraAnalysis.Analyze"/>).</param>
    /// <param name="layers">Layers ordered by relative change.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the headline findings.</param>
    public static ReportSection Build(IReadOnlyList<LoraModuleAnalysis> modules, IReadOnlyList<LoraLayerChange> layers, string? commandLine,
        IList<ReportFinding>? findings = null)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(layers);
        var section = new ReportSection("lora", "What the adapter changes")
        {
            Description = "Per module, ΔW = s·B·A against the base weight W: ‖ΔW‖_F/‖W‖_F, ΔW's effective rank (Roy and Vetterli), and " +
                "intruder dimensions — top singular vectors of W + ΔW with |cos| below the threshold against every singular vector of W " +
                "(Shuttleworth et al. 2024, LoRA vs Full Fine-tuning: An Illusion of Equivalence).",
            CommandLine = commandLine,
        };
        if (layers.Count > 0)
        {
            var ordered = layers.OrderBy(l => l.Layer).ToArray();
            var plot = ReportPlots.Create("‖ΔW‖/‖W‖ by layer", "layer", "relative change");
            var bars = plot.Add.Bars(ordered.Select(l => (double)l.Layer).ToArray(), ordered.Select(l => l.RelativeChange).ToArray());
            bars.Color = ScottPlot.Color.FromHex("#2f6fdf");
            section.Figures.Add(new ReportFigure("lora-layers", "Relative change of each decoder layer's adapted modules (‖ΔW‖ over ‖W‖, all modules of the layer).", ReportPlots.ToSvg(plot)));
        }
        var table = new ReportTable("lora-modules", "Adapted modules", "module", "layer", "r", "scale", "‖ΔW‖", "‖ΔW‖/‖W‖", "effective rank", "intruders");
        foreach (var m in modules)
            table.AddRow(m.Module, m.Layer is int l ? (long)l : null, (long)m.Rank, m.Scale, m.DeltaNorm, m.RelativeChange, m.EffectiveRank, (long)m.Intruders.Count);
        section.Tables.Add(table);
        int intruders = modules.Sum(m => m.Intruders.Count);
        int withIntruders = modules.Count(m => m.Intruders.Count > 0);
        if (findings is not null)
        {
            if (layers.Count > 0)
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"The adapter changes layer {layers[0].Layer} most (‖ΔW‖/‖W‖ = {layers[0].RelativeChange:F4})"), FindingLevel.Info, "lora"));
            findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                $"{intruders} intruder dimension(s) in {withIntruders} of {modules.Count} adapted modules"),
                intruders == 0 ? FindingLevel.Good : FindingLevel.Info, "lora"));
        }
        return section;
    }
}
