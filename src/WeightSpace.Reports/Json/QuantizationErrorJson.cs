using WeightSpace.Analysis.Quantization;

namespace WeightSpace.Reports.Json;

/// <summary>Writes a <see cref="QuantizationErrorReport"/> as the <c>weightspace diff REF QUANT --json</c> document.</summary>
public static class QuantizationErrorJson
{
    /// <summary>Writes one indented JSON document to <paramref name="output"/>; +∞ SNR (identical tensors) as the string "Infinity".</summary>
    public static void Write(Stream output, QuantizationErrorReport report)
    {
        using var w = new Utf8JsonWriter(output, JsonPolicy.WriterOptions);
        w.WriteStartObject();
        w.WriteString("kind", "quantization_error");
        w.WriteString("reference", report.ReferencePath);
        w.WriteString("quantized", report.QuantizedPath);
        Group(w, "summary", report.Summary);
        w.WriteStartArray("by_role");
        foreach (var g in report.ByRole) Group(w, null, g);
        w.WriteEndArray();
        w.WriteStartArray("by_layer");
        foreach (var g in report.ByLayer) Group(w, null, g);
        w.WriteEndArray();
        w.WriteStartArray("tensors");
        foreach (var t in report.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("reference_dtype", t.ReferenceDType.ToSafetensorsName());
            w.WriteString("dtype", t.QuantizedDType.ToSafetensorsName());
            w.WriteNumber("elements", t.ElementCount);
            JsonNumbers.Write(w, "relative_l2", t.RelativeL2);
            JsonNumbers.Write(w, "snr_db", t.SnrDb);
            JsonNumbers.Write(w, "max_abs_error", t.MaxAbsError);
            if (t.Layer is { } layer) w.WriteNumber("layer", layer);
            w.WriteString("role", t.Role);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Group(Utf8JsonWriter w, string? name, QuantizationErrorGroup g)
    {
        if (name is null) w.WriteStartObject(); else w.WriteStartObject(name);
        w.WriteString("group", g.Group);
        w.WriteNumber("tensors", g.TensorCount);
        JsonNumbers.Write(w, "mean_relative_l2", g.MeanRelativeL2);
        JsonNumbers.Write(w, "max_relative_l2", g.MaxRelativeL2);
        JsonNumbers.Write(w, "mean_snr_db", g.MeanSnrDb);
        w.WriteEndObject();
    }
}
