using ScottPlot;
using WeightSpace.Analysis.Similarity;

namespace WeightSpace.Reports.Similarity;

/// <summary>JSON, CSV and figures of <c>weightspace similarity</c>.</summary>
public static class SimilarityReportWriter
{
    private static IEnumerable<(string Kind, IReadOnlyList<LayerPairSimilarity> Rows)> Sections(SimilarityReport r) =>
    [
        ("consecutive_blocks", r.Blocks), ("against_consecutive_blocks", r.AgainstBlocks), ("cross_model_states", r.CrossModel),
        ("weights_consecutive", r.ConsecutiveWeights), ("weights_cross_model", r.CrossModelWeights),
    ];

    /// <summary>The JSON properties: paths, sample count, then one array per comparison kind.</summary>
    public static void WriteJson(Utf8JsonWriter writer, SimilarityReport report)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        writer.WriteString("model", report.Model);
        writer.WriteStringOrNull("against", report.Against);
        writer.WriteStringOrNull("text", report.Text);
        writer.WriteNumber("samples", report.Samples);
        foreach (var (kind, rows) in Sections(report))
        {
            writer.WriteStartArray(kind);
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("label", row.Label);
                writer.WriteNumberOrNull("layer", row.Layer);
                JsonNumbers.Write(writer, "cka", row.Scores.Cka);
                JsonNumbers.Write(writer, "linearity", row.Scores.Linearity);
                if (row.Scores.Procrustes is double p) JsonNumbers.Write(writer, "procrustes", p); else writer.WriteNull("procrustes");
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
    }

    /// <summary>One CSV row per comparison: kind, label, layer, cka, linearity, procrustes.</summary>
    public static void WriteCsv(TextWriter writer, SimilarityReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        CsvWriter.Write(writer, ["kind", "label", "layer", "cka", "linearity", "procrustes"],
            Sections(report).SelectMany(s => s.Rows.Select(r => (IReadOnlyList<object?>)[s.Kind, r.Label, r.Layer, r.Scores.Cka, r.Scores.Linearity, r.Scores.Procrustes])));
    }

    /// <summary>CKA and linearity across depth for every activation-based series.</summary>
    public static Plot AcrossDepth(SimilarityReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = ReportPlots.Create("Layer similarity across depth", "block / state", "similarity");
        var palette = new ScottPlot.Palettes.Category10();
        int color = 0;
        foreach (var (kind, rows) in Sections(report).Where(s => s.Rows.Count > 0 && !s.Kind.StartsWith("weights", StringComparison.Ordinal)))
        {
            double[] xs = [.. rows.Select(r => (double)(r.Layer ?? 0))];
            var cka = plot.Add.Scatter(xs, rows.Select(r => r.Scores.Cka).ToArray(), palette.GetColor(color));
            cka.LegendText = kind + " CKA";
            var lin = plot.Add.Scatter(xs, rows.Select(r => r.Scores.Linearity).ToArray(), palette.GetColor(color++));
            lin.MarkerShape = MarkerShape.FilledSquare;
            lin.LineWidth = 1;
            lin.LegendText = kind + " linearity";
        }
        plot.ShowLegend();
        return plot;
    }

    /// <summary>Writes the depth figure (when there are hidden states) as SVG and PNG; returns the stems.</summary>
    public static IReadOnlyList<string> WritePlots(SimilarityReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        if (report.Blocks.Count == 0) return [];
        string stem = Path.Combine(directory, "similarity_depth");
        ReportPlots.Save(AcrossDepth(report), stem);
        return [stem];
    }
}
