using WeightSpace.Analysis.Quantization;
using WeightSpace.Reports.Quantization;
using WeightSpace.Reports.Transformer;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for the quantisation error of a model against its reference (<c>weightspace diff REF QUANT
/// --report</c>): the plots of <see cref="QuantizationErrorPlots"/> and the numbers of the <c>--json</c> document.</summary>
public static class QuantizationErrorSection
{
    /// <summary>Builds the section and adds the worst tensor to <paramref name="findings"/>.</summary>
    /// <param name="report">The quantisation-error report.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the headline finding.</param>
    public static ReportSection Build(QuantizationErrorReport report, string? commandLine, IList<ReportFinding>? findings = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var section = new ReportSection("quantization-error", "Quantisation error")
        {
            Description = $"Error of {Path.GetFileName(report.QuantizedPath)} against {Path.GetFileName(report.ReferencePath)}, tensor by tensor, " +
                "in float64 over the float32 values (as gguf-py): relative L2 ‖q − r‖/‖r‖, SNR = 10·log10(Σr²/Σ(q − r)²) dB, max |q − r|.",
            CommandLine = commandLine,
        };
        foreach (var (stem, metric, grid) in QuantizationErrorPlots.Grids(report))
        {
            section.Figures.Add(new ReportFigure($"{stem.Replace('.', '-')}-heatmap", $"{metric} by block and role.", ReportPlots.ToSvg(LayerRolePlots.Heatmap(grid, metric))));
            section.Figures.Add(new ReportFigure($"{stem.Replace('.', '-')}-profiles", $"{metric} across depth, one line per role.", ReportPlots.ToSvg(LayerRolePlots.Profiles(grid, metric))));
        }
        section.Figures.Add(new ReportFigure("quantization-relative-l2-histogram", "Distribution of the relative L2 error over the quantised tensors.", ReportPlots.ToSvg(QuantizationErrorPlots.Distribution(report))));

        var summary = new ReportTable("quantization-summary", "Summary, by role and by layer (quantised tensors)", "group", "tensors", "mean relative L2", "max relative L2", "mean SNR (dB)");
        foreach (var g in new[] { report.Summary }.Concat(report.ByRole).Concat(report.ByLayer))
            summary.AddRow(g.Group, (long)g.TensorCount, g.MeanRelativeL2, g.MaxRelativeL2, g.MeanSnrDb);
        section.Tables.Add(summary);
        var tensors = new ReportTable("quantization-tensors", "Per tensor", "tensor", "reference dtype", "dtype", "elements", "relative L2", "SNR (dB)", "max |q − r|");
        foreach (var t in report.Tensors)
            tensors.AddRow(t.Name, t.ReferenceDType.ToSafetensorsName(), t.QuantizedDType.ToSafetensorsName(), t.ElementCount, t.RelativeL2, t.SnrDb, t.MaxAbsError);
        section.Tables.Add(tensors);
        section.Notes.Add("Tensors the quantisation left in the reference's dtype (norms in F32) are listed but not averaged.");

        if (findings is not null && report.Quantized.Count > 0)
        {
            var worst = report.Quantized.MaxBy(t => t.RelativeL2)!;
            findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                $"Quantisation error: mean relative L2 {report.Summary.MeanRelativeL2:G4} over {report.Summary.TensorCount} tensors; worst {worst.Name} ({worst.QuantizedDType.ToSafetensorsName()}) at {worst.RelativeL2:G4}, SNR {worst.SnrDb:F1} dB"),
                worst.RelativeL2 > 0.1 ? FindingLevel.Warning : FindingLevel.Info, "quantization-error"));
        }
        return section;
    }
}
