using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Analysis.Compatibility;

namespace WeightSpace.Reports.TaskVectors;

/// <summary>Writes a <see cref="TaskVectorReport"/> as the <c>weightspace diff --json</c> document.</summary>
/// <remarks>
/// Shape: <c>{"base", "models":[…], "top_fractions":[…], "mismatches":[{"model","tensor","detail"}],
/// "whole": S, "ranking":[{"group","mean_relative_change"}], "groups":[S…], "tensors":[S…]}</c> where each summary S is
/// <c>{"name","elements","base_norm","models":[{"norm","relative_change","top_mass":[…],"effective_rank"?,
/// "top_singular_values"?}], "cosine":[[…]], "sign_agreement":[[…]], "sign_conflict":[[…]]}</c>. Per-model lists follow <c>models</c>; non-finite
/// numbers are the strings of <see cref="JsonNumbers"/>.
/// </remarks>
public static class TaskVectorReportJson
{
    /// <summary>Writes one indented JSON document to <paramref name="output"/>.</summary>
    /// <param name="output">Destination stream (left open).</param>
    /// <param name="report">The analysis.</param>
    /// <param name="topFractions">The fractions the report's <c>top_mass</c> entries refer to (<see cref="TaskVectorOptions.TopFractions"/>).</param>
    /// <param name="mismatches">Mismatches found before the analysis (listed first); the report's own skipped list is used if null.</param>
    /// <param name="rankingCount">How many groups of <see cref="TaskVectorReport.LayerRanking"/> to list.</param>
    public static void Write(Stream output, TaskVectorReport report, IReadOnlyList<double> topFractions,
        IReadOnlyList<TensorMismatch>? mismatches = null, int rankingCount = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(report);
        using var w = new Utf8JsonWriter(output, JsonPolicy.WriterOptions);
        w.WriteStartObject();
        w.WriteString("base", report.BaseModel);
        w.WriteStringArray("models", report.Models);
        w.WriteStartArray("top_fractions");
        foreach (double f in topFractions) w.WriteNumberValue(f);
        w.WriteEndArray();
        w.WriteObjectArray("mismatches", mismatches ?? report.Skipped, static (w, m) =>
        {
            w.WriteString("model", m.Model);
            w.WriteString("tensor", m.Tensor);
            w.WriteString("detail", m.Detail);
        });
        w.WritePropertyName("whole");
        WriteSummary(w, report.Whole);
        w.WriteObjectArray("ranking", report.LayerRanking.Take(rankingCount), static (w, g) =>
        {
            w.WriteString("group", g.Name);
            JsonNumbers.Write(w, "mean_relative_change", g.MeanRelativeChange);
        });
        w.WriteStartArray("groups");
        foreach (var g in report.Groups) WriteSummary(w, g);
        w.WriteEndArray();
        w.WriteStartArray("tensors");
        foreach (var t in report.Tensors) WriteSummary(w, t);
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        output.Write("\n"u8);
    }

    private static void WriteSummary(Utf8JsonWriter w, DeltaSummary s)
    {
        w.WriteStartObject();
        w.WriteString("name", s.Name);
        w.WriteNumber("elements", s.ElementCount);
        JsonNumbers.Write(w, "base_norm", s.BaseNorm);
        w.WriteStartArray("models");
        foreach (var m in s.Models)
        {
            w.WriteStartObject();
            JsonNumbers.Write(w, "norm", m.Norm);
            JsonNumbers.Write(w, "relative_change", m.RelativeChange);
            w.WriteStartArray("top_mass");
            foreach (double f in m.TopMassFractions) JsonNumbers.WriteValue(w, f);
            w.WriteEndArray();
            if (m.EffectiveRank is double r) JsonNumbers.Write(w, "effective_rank", r);
            if (m.TopSingularValues.Count > 0)
            {
                w.WriteStartArray("top_singular_values");
                foreach (double v in m.TopSingularValues) JsonNumbers.WriteValue(w, v);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteMatrix(w, "cosine", s.Cosine);
        WriteMatrix(w, "sign_agreement", s.SignAgreement);
        WriteMatrix(w, "sign_conflict", s.SignConflict);
        w.WriteEndObject();
    }

    private static void WriteMatrix(Utf8JsonWriter w, string name, double[][] matrix)
    {
        w.WriteStartArray(name);
        foreach (var row in matrix)
        {
            w.WriteStartArray();
            foreach (double v in row) JsonNumbers.WriteValue(w, v);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }
}
