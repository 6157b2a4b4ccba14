using WeightSpace.Analysis.Statistics;

namespace WeightSpace.Reports.Json;

/// <summary>Writes a <see cref="CheckpointSummary"/> as the <c>weightspace inspect --json</c> document:
/// <c>{"path","format","parameters","bytes","tensors":[{"name","dtype","bytes","bits_per_weight","shape",("sum","mean","std","min","max","l2","nan","inf")}]}</c>.</summary>
public static class CheckpointSummaryJson
{
    /// <summary>Writes one indented JSON document to <paramref name="output"/>.</summary>
    public static void Write(Stream output, CheckpointSummary summary, WeightSpace.Formats.Integrity.IntegrityReport? integrity = null)
    {
        using var w = new Utf8JsonWriter(output, JsonPolicy.WriterOptions);
        w.WriteStartObject();
        w.WriteString("path", summary.Path);
        w.WriteString("format", summary.Format.Name);
        w.WriteNumber("parameters", summary.ParameterCount);
        w.WriteNumber("bytes", summary.ByteCount);
        w.WriteStartArray("tensors");
        foreach (var t in summary.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Info.Name);
            w.WriteString("dtype", t.Info.DType.ToSafetensorsName());
            w.WriteNumber("bytes", t.Info.ByteCount);
            w.WriteNumber("bits_per_weight", t.Info.DType.BitsPerWeight());
            w.WriteStartArray("shape");
            foreach (long d in t.Info.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            if (t.Statistics is { } s)
            {
                JsonNumbers.Write(w, "sum", s.Sum);
                JsonNumbers.Write(w, "mean", s.Mean);
                JsonNumbers.Write(w, "std", s.Std);
                JsonNumbers.Write(w, "min", s.Min);
                JsonNumbers.Write(w, "max", s.Max);
                JsonNumbers.Write(w, "l2", s.L2);
                w.WriteNumber("nan", s.NaNCount);
                w.WriteNumber("inf", s.InfinityCount);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (integrity is not null)
        {
            // {has_checksums, checked, bytes, ok, mismatches: [{entry, expected, actual}]} with CRCs as 8 hex digits.
            w.WriteStartObject("integrity");
            w.WriteBoolean("has_checksums", integrity.HasChecksums);
            w.WriteNumber("checked", integrity.Checked);
            w.WriteNumber("bytes", integrity.Bytes);
            w.WriteBoolean("ok", integrity.Ok);
            w.WriteObjectArray("mismatches", integrity.Mismatches, static (w, m) =>
            {
                w.WriteString("entry", m.Entry);
                w.WriteString("expected", m.Expected.ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("actual", m.Actual.ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
            });
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.Flush();
        output.Write("\n"u8);
    }
}
