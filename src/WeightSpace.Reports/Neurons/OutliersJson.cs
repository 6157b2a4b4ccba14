using WeightSpace.Analysis.Outliers;

namespace WeightSpace.Reports.Neurons;

/// <summary>The JSON document of <c>weightspace outliers --json</c>.</summary>
/// <remarks>model; top (the largest ratios over all matrices); matrices [{tensor, layer, role, shape, rms, outliers:
/// [{row, column, value, ratio_to_rms}]}]; with <c>--text</c> super_weight {tensor, row, column, value, layer,
/// magnitude_rank, ratio_to_rms, probe_text, probe_tokens, layers: [spikes], effects: [zeroing effects]}.</remarks>
public static class OutliersJson
{
    /// <summary>Writes the document to <paramref name="stream"/>.</summary>
    public static void Write(string model, IReadOnlyList<MatrixOutliers> matrices, IReadOnlyList<WeightOutlier> top, SuperWeightReport? super, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        ArgumentNullException.ThrowIfNull(top);
        using var w = new Utf8JsonWriter(stream, JsonPolicy.WriterOptions);
        w.WriteStartObject();
        w.WriteString("model", model);
        w.WriteStartArray("top");
        foreach (var o in top) WriteOutlier(w, o, withTensor: true);
        w.WriteEndArray();
        w.WriteObjectArray("matrices", matrices, static (w, m) =>
        {
            w.WriteString("tensor", m.Tensor);
            w.WriteNumberOrNull("layer", m.Layer);
            w.WriteString("role", m.Role.ToString());
            w.WriteStartArray("shape");
            foreach (long d in m.Shape.ToArray()) w.WriteNumberValue(d);
            w.WriteEndArray();
            JsonNumbers.Write(w, "rms", m.Rms);
            w.WriteStartArray("outliers");
            foreach (var o in m.Outliers) WriteOutlier(w, o, withTensor: false);
            w.WriteEndArray();
        });
        if (super is null) w.WriteNull("super_weight");
        else
        {
            w.WriteStartObject("super_weight");
            w.WriteString("tensor", super.Tensor);
            w.WriteNumber("layer", super.SuperWeight.Layer);
            w.WriteNumber("row", super.SuperWeight.OutputChannel);
            w.WriteNumber("column", super.SuperWeight.InputChannel);
            JsonNumbers.Write(w, "value", super.SuperWeight.Weight);
            w.WriteNumber("magnitude_rank", super.MagnitudeRank);
            JsonNumbers.Write(w, "ratio_to_rms", super.RatioToRms);
            w.WriteString("probe_text", super.ProbeText);
            w.WriteNumber("probe_tokens", super.ProbeTokens);
            w.WriteObjectArray("layers", super.Layers, static (w, s) =>
            {
                w.WriteNumber("layer", s.Layer);
                w.WriteNumber("output_channel", s.OutputChannel);
                w.WriteNumber("position", s.Position);
                JsonNumbers.Write(w, "max_output", s.MaxOutput);
                JsonNumbers.Write(w, "output_ratio_to_median", s.OutputRatioToMedian);
                w.WriteNumber("input_channel", s.InputChannel);
                JsonNumbers.Write(w, "max_input", s.MaxInput);
                JsonNumbers.Write(w, "weight", s.Weight);
            });
            w.WriteObjectArray("effects", super.Effects, static (w, e) =>
            {
                w.WriteString("label", e.Label);
                w.WriteString("tensor", e.Tensor);
                w.WriteNumber("row", e.Row);
                w.WriteNumber("column", e.Column);
                JsonNumbers.Write(w, "value", e.Value);
                w.WriteString("text", e.Text);
                JsonNumbers.Write(w, "bits_per_byte", e.BitsPerByte);
                JsonNumbers.Write(w, "zeroed_bits_per_byte", e.ZeroedBitsPerByte);
                JsonNumbers.Write(w, "perplexity", e.Perplexity);
                JsonNumbers.Write(w, "zeroed_perplexity", e.ZeroedPerplexity);
            });
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteOutlier(Utf8JsonWriter w, WeightOutlier o, bool withTensor)
    {
        w.WriteStartObject();
        if (withTensor)
        {
            w.WriteString("tensor", o.Tensor);
            w.WriteNumberOrNull("layer", o.Layer);
        }
        w.WriteNumber("row", o.Row);
        w.WriteNumber("column", o.Column);
        JsonNumbers.Write(w, "value", o.Value);
        JsonNumbers.Write(w, "ratio_to_rms", o.RatioToRms);
        w.WriteEndObject();
    }
}
