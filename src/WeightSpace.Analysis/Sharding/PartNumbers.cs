namespace WeightSpace.Analysis.Sharding;

/// <summary>Doubles in part files, exactly: finite values as JSON numbers (System.Text.Json writes the shortest
/// round-tripping form), ±∞ and NaN as the strings <c>Infinity</c>, <c>-Infinity</c>, <c>NaN</c>, so a combine sums
/// the very bits a single run would.</summary>
public static class PartNumbers
{
    /// <summary>The JSON value of <paramref name="value"/>.</summary>
    public static JsonNode Of(double value) =>
        double.IsFinite(value) ? JsonValue.Create(value)
        : JsonValue.Create(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");

    /// <summary>A JSON array of <paramref name="values"/>.</summary>
    public static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)Of(v)).ToArray());

    /// <summary>Reads a value written by <see cref="Of"/>.</summary>
    /// <exception cref="FormatException">Neither a number nor one of the three strings.</exception>
    public static double Read(JsonNode? node)
    {
        if (node is not JsonValue v) throw new FormatException("expected a number");
        if (v.TryGetValue(out double d)) return d;
        if (v.TryGetValue(out string? s))
            return s switch
            {
                "Infinity" => double.PositiveInfinity,
                "-Infinity" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => throw new FormatException($"'{s}' is not a number"),
            };
        throw new FormatException("expected a number");
    }

    /// <summary>Reads an array written by <see cref="Array"/>.</summary>
    public static double[] ReadArray(JsonNode? node) =>
        (node as JsonArray ?? throw new FormatException("expected an array of numbers")).Select(Read).ToArray();
}
