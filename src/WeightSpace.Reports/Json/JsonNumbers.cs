namespace WeightSpace.Reports.Json;

/// <summary>Writes doubles into JSON, with NaN and infinities as the strings <c>"NaN"</c>, <c>"Infinity"</c> and
/// <c>"-Infinity"</c> (JSON has no such numbers; this is the convention of the project's fixtures and of JavaScript).</summary>
public static class JsonNumbers
{
    /// <summary>Writes <paramref name="value"/> as a number, or as a string if it is not finite.</summary>
    public static void Write(Utf8JsonWriter writer, string propertyName, double value)
    {
        writer.WritePropertyName(propertyName);
        WriteValue(writer, value);
    }

    /// <summary>Writes <paramref name="value"/> as an array element or value.</summary>
    public static void WriteValue(Utf8JsonWriter writer, double value)
    {
        if (double.IsNaN(value)) writer.WriteStringValue("NaN");
        else if (double.IsPositiveInfinity(value)) writer.WriteStringValue("Infinity");
        else if (double.IsNegativeInfinity(value)) writer.WriteStringValue("-Infinity");
        else writer.WriteNumberValue(value);
    }

    /// <summary>Reads a number written by <see cref="WriteValue"/> (a number or one of the three strings).</summary>
    /// <exception cref="FormatException">The element is neither.</exception>
    public static double Read(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.String => element.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new FormatException($"'{s}' is not a number"),
        },
        _ => throw new FormatException($"{element.ValueKind} is not a number"),
    };
}
