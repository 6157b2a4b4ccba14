using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Reports.Spectra;

/// <summary>Writes spectral reports as the <c>weightspace spectrum --json</c> document (issue #7):
/// <c>{"path", "layout", "layers": [{"name", "shape", "kind", "status", "reason", "num_evals", "lambda_max", …}],
/// "summary": {…}}</c>, snake_case, every <see cref="LayerSpectrum"/> property present (null when undefined).</summary>
/// <remarks>Eigenvalue arrays are left out unless asked for: a 4096-wide layer would add 4096 numbers per layer.</remarks>
public static class SpectrumJson
{
    private static readonly JsonSerializerOptions WithoutEigenvalues = Create(includeEigenvalues: false);
    private static readonly JsonSerializerOptions WithEigenvalues = Create(includeEigenvalues: true);

    /// <summary>Writes one indented JSON document and a newline to <paramref name="output"/>.</summary>
    /// <param name="output">Destination; left open.</param>
    /// <param name="report">The analysis.</param>
    /// <param name="layout">The weight layout used (<c>torch</c> or <c>tf</c>) and how it was chosen, or null to omit.</param>
    /// <param name="includeEigenvalues">Add each layer's <c>eigenvalues</c> (and the randomized ones) when kept.</param>
    public static void Write(Stream output, SpectrumReport report, string? layout = null, bool includeEigenvalues = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(report);
        var options = includeEigenvalues ? WithEigenvalues : WithoutEigenvalues;
        using (var w = new Utf8JsonWriter(output, JsonPolicy.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("path", report.Path);
            if (layout is not null) w.WriteString("layout", layout);
            w.WritePropertyName("layers");
            JsonSerializer.Serialize(w, report.Layers, options);
            w.WritePropertyName("summary");
            JsonSerializer.Serialize(w, report.Summary, options);
            w.WriteEndObject();
        }
        output.Write("\n"u8);
    }

    /// <summary>Writes a spectral diff (<c>weightspace spectrum --against</c>) as one indented JSON document:
    /// <c>{"fine_tuned_path", "baseline_path", "layers": [{"name", "status", "delta_alpha", …, "fine_tuned": {…},
    /// "baseline": {…}}], "mean_delta_alpha", "mean_subspace_overlap", "total_intruders"}</c>.</summary>
    /// <param name="output">Destination; left open.</param>
    /// <param name="diff">The comparison.</param>
    public static void Write(Stream output, SpectralDiffReport diff)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(diff);
        using (var w = new Utf8JsonWriter(output, JsonPolicy.WriterOptions))
            JsonSerializer.Serialize(w, diff, WithoutEigenvalues);
        output.Write("\n"u8);
    }

    private static JsonSerializerOptions Create(bool includeEigenvalues)
    {
        var resolver = new DefaultJsonTypeInfoResolver();
        if (!includeEigenvalues)
            resolver.Modifiers.Add(info =>
            {
                if (info.Type != typeof(LayerSpectrum) && info.Type != typeof(RandomizedSpectrum)) return;
                foreach (var property in info.Properties)
                    if (property.Name == "eigenvalues") property.ShouldSerialize = static (_, _) => false;
            });
        // JsonPolicy's snake_case names and number handling (metrics are null, never NaN, so nothing else changes).
        return new JsonSerializerOptions(JsonPolicy.Serializer)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            TypeInfoResolver = resolver,
        };
    }
}
