using ScottPlot;
using WeightSpace.Analysis.RankProfile;

namespace WeightSpace.Reports.RankProfile;

/// <summary>JSON, CSV and figures of a rank profile (<c>weightspace ranks</c>).</summary>
public static class RankProfileReport
{
    private static readonly string[] Header =
        ["name", "layer", "role", "rows", "columns", "full_rank", "numerical_rank", "rank_energy_90", "rank_energy_95", "rank_energy_99", "suggested_rank", "alpha", "xmin"];

    /// <summary>One CSV row per matrix.</summary>
    public static void WriteCsv(TextWriter writer, IReadOnlyList<MatrixRanks> matrices)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        CsvWriter.Write(writer, Header, matrices.Select(m =>
        {
            var fit = m.TailFit;
            return (IReadOnlyList<object?>)[m.Name, m.Layer, m.Role.ToString(), m.Rows, m.Columns, m.FullRank, m.NumericalRank,
                m.RankAtEnergy(0.90), m.RankAtEnergy(0.95), m.RankAtEnergy(0.99), m.SuggestedRank, fit?.Alpha, fit?.Xmin];
        }));
    }

    /// <summary>The JSON properties: per matrix its ranks, then <c>suggested_ranks</c> (name → rank), a file
    /// <c>compress --rank-profile</c> reads directly.</summary>
    public static void WriteJson(Utf8JsonWriter writer, string model, IReadOnlyList<MatrixRanks> matrices)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(matrices);
        writer.WriteString("model", model);
        writer.WriteString("suggested_rule", "eigenvalues sigma^2 in the power-law tail (>= xmin) of WeightWatcher's fit; numerical rank when fewer than 10 eigenvalues");
        writer.WriteStartArray("matrices");
        foreach (var m in matrices)
        {
            var fit = m.TailFit;
            writer.WriteStartObject();
            writer.WriteString("name", m.Name);
            writer.WriteNumberOrNull("layer", m.Layer);
            writer.WriteString("role", m.Role.ToString());
            writer.WriteNumber("rows", m.Rows);
            writer.WriteNumber("columns", m.Columns);
            writer.WriteNumber("full_rank", m.FullRank);
            writer.WriteNumber("numerical_rank", m.NumericalRank);
            writer.WriteNumber("rank_energy_90", m.RankAtEnergy(0.90));
            writer.WriteNumber("rank_energy_95", m.RankAtEnergy(0.95));
            writer.WriteNumber("rank_energy_99", m.RankAtEnergy(0.99));
            writer.WriteNumber("suggested_rank", m.SuggestedRank);
            if (fit is null) { writer.WriteNull("alpha"); writer.WriteNull("xmin"); }
            else { JsonNumbers.Write(writer, "alpha", fit.Alpha); JsonNumbers.Write(writer, "xmin", fit.Xmin); }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartObject("suggested_ranks");
        foreach (var m in matrices) writer.WriteNumber(m.Name, m.SuggestedRank);
        writer.WriteEndObject();
    }

    /// <summary>Rank at 95 % energy and suggested rank, as a fraction of the full rank, across depth, one line per role.</summary>
    public static Plot RankFractionByDepth(IReadOnlyList<MatrixRanks> matrices, bool suggested)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        var plot = ReportPlots.Create(suggested ? "Suggested rank (power-law tail) / full rank" : "Rank at 95 % energy / full rank", "layer", "fraction of full rank");
        int color = 0;
        foreach (var group in matrices.Where(m => m.Layer is not null && m.FullRank > 0).GroupBy(m => m.Role).OrderBy(g => g.Key))
        {
            var points = group.OrderBy(m => m.Layer).ToArray();
            var line = plot.Add.Scatter(points.Select(m => (double)m.Layer!.Value).ToArray(),
                points.Select(m => (suggested ? m.SuggestedRank : m.RankAtEnergy(0.95)) / (double)m.FullRank).ToArray(), new ScottPlot.Palettes.Category10().GetColor(color++));
            line.LegendText = group.Key.ToString();
        }
        plot.Axes.SetLimitsY(0, 1.05);
        plot.ShowLegend();
        return plot;
    }

    /// <summary>Writes both depth figures as SVG and PNG into <paramref name="directory"/>; returns the stems.</summary>
    public static IReadOnlyList<string> WritePlots(IReadOnlyList<MatrixRanks> matrices, string directory)
    {
        Directory.CreateDirectory(directory);
        string a = Path.Combine(directory, "ranks_energy95"), b = Path.Combine(directory, "ranks_suggested");
        ReportPlots.Save(RankFractionByDepth(matrices, false), a);
        ReportPlots.Save(RankFractionByDepth(matrices, true), b);
        return [a, b];
    }

    /// <summary>Formats a fraction as a percentage for tables.</summary>
    public static string Percent(double f) => (100 * f).ToString("F1", CultureInfo.InvariantCulture) + " %";
}
