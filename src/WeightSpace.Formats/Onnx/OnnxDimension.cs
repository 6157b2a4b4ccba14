namespace WeightSpace.Formats.Onnx;

/// <summary>One dimension of a graph input or output: a fixed size, a symbolic name, or unknown.</summary>
/// <param name="Value">The size when fixed (<c>dim_value</c>), else null.</param>
/// <param name="Symbol">The symbolic name (<c>dim_param</c>, e.g. <c>batch</c>), else null.</param>
public sealed record OnnxDimension(long? Value, string? Symbol)
{
    /// <summary>Formats as the size, the symbol, or <c>?</c>.</summary>
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}
