using WeightSpace.Analysis.Heads;

namespace WeightSpace.Reports.Heads;

/// <summary>One CSV row per head: layer, head, KV head, each circuit's norms, effective rank and top singular values,
/// and the relative changes when there is a baseline.</summary>
public static class HeadReportCsv
{
    /// <summary>Writes the table.</summary>
    /// <param name="writer">Destination.</param>
    /// <param name="report">The analysis.</param>
    /// <param name="topSingularValues">Singular-value columns per circuit (qk_sv1…, ov_sv1…), at most head_dim.</param>
    public static void Write(TextWriter writer, AttentionHeadReport report, int topSingularValues)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        int top = Math.Min(topSingularValues, report.Layout.HeadDim);
        bool change = report.Baseline is not null;
        var header = new List<string> { "layer", "head", "kv_head" };
        foreach (string c in (string[])["qk", "ov"])
        {
            header.AddRange([$"{c}_spectral_norm", $"{c}_nuclear_norm", $"{c}_frobenius_norm", $"{c}_effective_rank"]);
            header.AddRange(Enumerable.Range(1, top).Select(i => string.Create(CultureInfo.InvariantCulture, $"{c}_sv{i}")));
        }
        if (change) header.AddRange(["qk_relative_change", "ov_relative_change"]);
        CsvWriter.Write(writer, header, report.Heads.Select(h =>
        {
            var row = new List<object?> { h.Layer, h.Head, h.KeyValueHead };
            foreach (var s in (CircuitSpectrum[])[h.QueryKey, h.OutputValue])
            {
                row.AddRange([s.Spectral, s.Nuclear, s.Frobenius, s.EffectiveRank]);
                row.AddRange(Enumerable.Range(0, top).Select(i => (object?)(i < s.SingularValues.Length ? s.SingularValues[i] : null)));
            }
            if (change) row.AddRange([h.QueryKeyChange, h.OutputValueChange]);
            return (IReadOnlyList<object?>)row;
        }));
    }
}
