using WeightSpace.Analysis.Outliers;
using WeightSpace.Reports.Neurons;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for outlier weights and super weights (<c>weightspace outliers --report</c>).</summary>
public static class OutliersSection
{
    /// <summary>Builds the section and adds the super weight's effect to <paramref name="findings"/>.</summary>
    /// <param name="matrices">The data-free scan.</param>
    /// <param name="top">The largest outliers over all matrices.</param>
    /// <param name="super">The activation-based detection, or null.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the headline finding.</param>
    /// <param name="id">The section's anchor (unique within a report).</param>
    /// <param name="title">The section's heading.</param>
    public static ReportSection Build(IReadOnlyList<MatrixOutliers> matrices, IReadOnlyList<WeightOutlier> top, SuperWeightReport? super, string? commandLine,
        IList<ReportFinding>? findings = null, string id = "outliers", string title = "Outlier weights and super weights")
    {
        ArgumentNullException.ThrowIfNull(matrices);
        ArgumentNullException.ThrowIfNull(top);
        var section = new ReportSection(id, title)
        {
            Description = "The largest-magnitude weights of every matrix in units of its RMS (data-free), and with a text the super weight of " +
                "Yu et al. 2024: the down_proj weight [r, c] behind the largest down_proj output activation, and what zeroing it does to perplexity.",
            CommandLine = commandLine,
        };
        section.Figures.Add(new ReportFigure("outlier-ratios", "Largest |w| / RMS of each matrix.", ReportPlots.ToSvg(NeuronPlots.OutlierRatios(matrices), 900, 480)));
        var table = new ReportTable("outliers-top", "Largest weights over all matrices (by |w| / RMS)", "tensor", "row", "column", "value", "|w| / RMS");
        foreach (var o in top) table.AddRow(o.Tensor, o.Row, o.Column, (double)o.Value, o.RatioToRms);
        section.Tables.Add(table);
        if (super is not null)
        {
            section.Figures.Add(new ReportFigure("down-proj-spikes", "Largest |down_proj output| by layer on the probe text.", ReportPlots.ToSvg(NeuronPlots.Spikes(super), 900, 480)));
            var spikes = new ReportTable("down-proj-spikes", "down_proj activation spikes by layer", "layer", "output channel r", "max output", "÷ median", "input channel c", "max input", "down_proj[r, c]");
            foreach (var s in super.Layers)
                spikes.AddRow((long)s.Layer, (long)s.OutputChannel, (double)s.MaxOutput, s.OutputRatioToMedian, (long)s.InputChannel, (double)s.MaxInput, (double)s.Weight);
            section.Tables.Add(spikes);
            var effects = new ReportTable("zeroing", "Zeroing one weight", "weight", "tensor [r, c]", "text", "bits/byte", "zeroed bits/byte", "perplexity", "zeroed perplexity");
            foreach (var e in super.Effects)
                effects.AddRow(e.Label, string.Create(CultureInfo.InvariantCulture, $"{e.Tensor} [{e.Row}, {e.Column}]"), Path.GetFileName(e.Text),
                    e.BitsPerByte, e.ZeroedBitsPerByte, e.Perplexity, e.ZeroedPerplexity);
            section.Tables.Add(effects);
            var sw = super.Effects.Where(e => e.Label == "super weight").ToList();
            if (findings is not null && sw.Count > 0)
            {
                double delta = sw.Average(e => e.ZeroedBitsPerByte - e.BitsPerByte);
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Super weight {super.Tensor}[{super.SuperWeight.OutputChannel}, {super.SuperWeight.InputChannel}] = {super.SuperWeight.Weight:G4}: zeroing it changes bits/byte by {delta:+0.000;-0.000;0.000} on average"),
                    delta > 0.1 ? FindingLevel.Warning : FindingLevel.Info, "outliers"));
            }
        }
        return section;
    }
}
