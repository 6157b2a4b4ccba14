using ScottPlot;
using WeightSpace.Analysis.Naming;
using WeightSpace.Analysis.Quantization;
using WeightSpace.Reports.Transformer;

namespace WeightSpace.Reports.Quantization;

/// <summary>The plots of the quantisation-error report (<c>weightspace diff REF QUANT --plots DIR</c> and its
/// <c>--report</c> section): relative L2 error and SNR by block and role (a heatmap and one line per role across depth,
/// <see cref="LayerRolePlots"/>), and the distribution of the relative L2 error over the quantised tensors.</summary>
public static class QuantizationErrorPlots
{
    /// <summary>Relative L2 error and SNR of the quantised tensors as block × role grids, with file stems and labels;
    /// empty when the names follow no known transformer convention.</summary>
    public static IReadOnlyList<(string Stem, string Metric, LayerRoleGrid Grid)> Grids(QuantizationErrorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var quantized = report.Quantized;
        var result = new List<(string, string, LayerRoleGrid)>();
        if (LayerRoleGrid.Build(quantized.Select(t => (t.Name, (double?)t.RelativeL2))) is { } l2) result.Add(("quantization.relative-l2", "relative L2 error ‖q − r‖/‖r‖", l2));
        if (LayerRoleGrid.Build(quantized.Select(t => (t.Name, (double?)t.SnrDb))) is { } snr) result.Add(("quantization.snr-db", "SNR (dB)", snr));
        return result;
    }

    /// <summary>Histogram of the relative L2 error over the quantised tensors (finite values), coloured by nothing but
    /// titled with the quantised dtypes present.</summary>
    public static Plot Distribution(QuantizationErrorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var values = report.Quantized.Select(t => t.RelativeL2).Where(double.IsFinite).ToArray();
        string types = string.Join(", ", report.Quantized.Select(t => t.QuantizedDType.ToSafetensorsName()).Distinct());
        var plot = ReportPlots.Create(string.Create(CultureInfo.InvariantCulture, $"relative L2 error over {values.Length} quantised tensors ({types})"), "relative L2 error ‖q − r‖/‖r‖", "tensors");
        if (values.Length == 0) return plot;
        double lo = values.Min(), hi = values.Max();
        int bins = Math.Clamp((int)Math.Ceiling(Math.Sqrt(values.Length)), 1, 40);
        double step = hi > lo ? (hi - lo) / bins : Math.Max(Math.Abs(lo), 1e-12) * 0.1;
        var counts = new double[bins];
        foreach (double v in values) counts[Math.Min(bins - 1, (int)((v - lo) / step))]++;
        var bars = plot.Add.Bars(Enumerable.Range(0, bins).Select(i => lo + (i + 0.5) * step).ToArray(), counts);
        foreach (var bar in bars.Bars) bar.Size = step * 0.9;
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>Writes <c>layer-role.quantization.{relative-l2,snr-db}.{heatmap,profiles}</c> (when the names follow a
    /// transformer convention) and <c>quantization.relative-l2-histogram</c>, each as SVG and PNG, into
    /// <paramref name="directory"/> (created if absent), every file through a temp file and a rename.</summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> WriteAll(QuantizationErrorReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var written = new List<string>(LayerRolePlots.WriteAll(Grids(report), directory));
        string stem = Path.Combine(directory, "quantization.relative-l2-histogram");
        ReportPlots.Save(Distribution(report), stem);
        written.Add(stem + ".svg");
        written.Add(stem + ".png");
        return written;
    }
}
