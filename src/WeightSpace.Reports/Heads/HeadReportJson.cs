using WeightSpace.Analysis.Heads;

namespace WeightSpace.Reports.Heads;

/// <summary>The JSON document of <c>weightspace heads --json</c>: the layout, every head's QK and OV circuit norms,
/// effective ranks and top singular values, and with a baseline the relative changes and the most-changed heads.</summary>
public static class HeadReportJson
{
    /// <summary>Writes the report's properties into an open object.</summary>
    /// <param name="writer">Positioned inside an object.</param>
    /// <param name="report">The analysis.</param>
    /// <param name="topSingularValues">Singular values listed per circuit (at most head_dim).</param>
    /// <param name="mostChanged">Heads listed under <c>most_changed</c> (with a baseline).</param>
    public static void WriteProperties(Utf8JsonWriter writer, AttentionHeadReport report, int topSingularValues, int mostChanged)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        writer.WriteString("model", report.Model);
        if (report.Baseline is null) writer.WriteNull("baseline");
        else writer.WriteString("baseline", report.Baseline);
        writer.WriteNumber("num_attention_heads", report.Layout.HeadCount);
        writer.WriteNumber("num_key_value_heads", report.Layout.KeyValueHeadCount);
        writer.WriteNumber("head_dim", report.Layout.HeadDim);
        writer.WriteNumber("hidden_size", report.HiddenSize);
        writer.WriteNumber("layer_count", report.LayerCount);
        writer.WriteStartArray("heads");
        foreach (var h in report.Heads) WriteHead(writer, h, topSingularValues);
        writer.WriteEndArray();
        if (report.Baseline is not null)
        {
            writer.WriteStartArray("most_changed");
            foreach (var h in report.MostChanged(mostChanged))
            {
                writer.WriteStartObject();
                writer.WriteNumber("layer", h.Layer);
                writer.WriteNumber("head", h.Head);
                JsonNumbers.Write(writer, "qk_relative_change", h.QueryKeyChange!.Value);
                JsonNumbers.Write(writer, "ov_relative_change", h.OutputValueChange!.Value);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
    }

    private static void WriteHead(Utf8JsonWriter writer, HeadCircuits h, int top)
    {
        writer.WriteStartObject();
        writer.WriteNumber("layer", h.Layer);
        writer.WriteNumber("head", h.Head);
        writer.WriteNumber("kv_head", h.KeyValueHead);
        WriteCircuit(writer, "qk", h.QueryKey, top);
        WriteCircuit(writer, "ov", h.OutputValue, top);
        if (h.QueryKeyChange is double qk) JsonNumbers.Write(writer, "qk_relative_change", qk);
        if (h.OutputValueChange is double ov) JsonNumbers.Write(writer, "ov_relative_change", ov);
        writer.WriteEndObject();
    }

    private static void WriteCircuit(Utf8JsonWriter writer, string name, CircuitSpectrum s, int top)
    {
        writer.WriteStartObject(name);
        JsonNumbers.Write(writer, "spectral_norm", s.Spectral);
        JsonNumbers.Write(writer, "nuclear_norm", s.Nuclear);
        JsonNumbers.Write(writer, "frobenius_norm", s.Frobenius);
        JsonNumbers.Write(writer, "effective_rank", s.EffectiveRank);
        writer.WriteStartArray("top_singular_values");
        foreach (double v in s.SingularValues.Take(top)) JsonNumbers.WriteValue(writer, v);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
