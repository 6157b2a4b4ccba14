using ScottPlot;
using WeightSpace.Analysis.Heads;

namespace WeightSpace.Reports.Heads;

/// <summary>Layer × head heatmaps of the attention-head analysis.</summary>
public static class HeadPlots
{
    /// <summary>A layer × head heatmap of <paramref name="value"/> (rows: layers, top to bottom; columns: heads).</summary>
    /// <param name="report">The analysis.</param>
    /// <param name="title">Plot title.</param>
    /// <param name="value">What each cell shows.</param>
    public static Plot Heatmap(AttentionHeadReport report, string title, Func<HeadCircuits, double> value)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(value);
        int[] layers = [.. report.Heads.Select(h => h.Layer).Distinct().Order()];
        int heads = report.Layout.HeadCount;
        var cells = new double[layers.Length, heads];
        for (int i = 0; i < cells.GetLength(0); i++)
            for (int j = 0; j < heads; j++) cells[i, j] = double.NaN;
        foreach (var h in report.Heads) cells[Array.IndexOf(layers, h.Layer), h.Head] = value(h);
        var plot = ReportPlots.Create(title, "head", "layer");
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        // Heatmap rows are drawn top to bottom: the first layer is at the top.
        double[] rowTicks = [.. Enumerable.Range(0, layers.Length).Select(i => (double)(layers.Length - 1 - i))];
        plot.Axes.Left.SetTicks(rowTicks, [.. layers.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        return plot;
    }

    /// <summary>The figures of <c>weightspace heads --plots DIR</c>: spectral norm and effective rank of both circuits,
    /// and with a baseline their relative changes. Each is written as SVG and PNG.</summary>
    /// <returns>The file stems written (without extension).</returns>
    public static IReadOnlyList<string> WriteAll(AttentionHeadReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        var figures = new List<(string Name, string Title, Func<HeadCircuits, double> Value)>
        {
            ("heads_qk_spectral_norm", "‖W_QK‖₂ per head", h => h.QueryKey.Spectral),
            ("heads_ov_spectral_norm", "‖W_OV‖₂ per head", h => h.OutputValue.Spectral),
            ("heads_qk_effective_rank", "Effective rank of W_QK (Roy–Vetterli)", h => h.QueryKey.EffectiveRank),
            ("heads_ov_effective_rank", "Effective rank of W_OV (Roy–Vetterli)", h => h.OutputValue.EffectiveRank),
        };
        if (report.Baseline is not null)
        {
            figures.Add(("heads_qk_change", "‖ΔW_QK‖_F / ‖W_QK,base‖_F", h => h.QueryKeyChange ?? double.NaN));
            figures.Add(("heads_ov_change", "‖ΔW_OV‖_F / ‖W_OV,base‖_F", h => h.OutputValueChange ?? double.NaN));
        }
        var written = new List<string>();
        foreach (var (name, title, value) in figures)
        {
            string stem = Path.Combine(directory, name);
            ReportPlots.Save(Heatmap(report, title, value), stem);
            written.Add(stem);
        }
        return written;
    }
}
