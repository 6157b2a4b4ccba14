using System.Text.Json.Serialization;

namespace WeightSpace.Reports.Json;

/// <summary>The one JSON policy of every document WeightSpace writes: indented UTF-8, snake_case names, and NaN/±∞ as the strings
/// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (JSON has no such numbers; this is the convention of the shared
/// fixtures and of JavaScript's <c>Number()</c>). Hand-written documents use <see cref="JsonNumbers"/>, serialized
/// records <see cref="Serializer"/>; both produce the same text for the same double.</summary>
public static class JsonPolicy
{
    /// <summary>Writer options: indented; the default encoder (no raw HTML-unsafe characters).</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Indented = true };

    /// <summary>Serializer options: snake_case property names (<c>barrier_loss</c>, as in mergekit's and WeightWatcher's
    /// outputs), non-finite doubles as the three strings (read back too).</summary>
    public static JsonSerializerOptions Serializer { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
