namespace WeightSpace;

/// <summary>What a checkpoint says about one tensor, known without reading its data.</summary>
/// <param name="Name">Fully qualified name, e.g. <c>encoder.layers.0.fc1.weight</c>.</param>
/// <param name="DType">Stored element type.</param>
/// <param name="Shape">Logical shape (C order).</param>
public sealed record TensorInfo(string Name, DType DType, Shape Shape)
{
    /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Bytes of the tensor's data when laid out contiguously (whole blocks for block-quantised types).</summary>
    /// <exception cref="ArgumentException">A block-quantised tensor's element count is not a whole number of blocks.</exception>
    /// <exception cref="OverflowException">The byte count does not fit a 64-bit integer.</exception>
    public long ByteCount => DType.ByteCount(Shape.ElementCount);

    /// <summary>Formats as <c>fc1.weight F32[128, 64]</c>.</summary>
    public override string ToString() => $"{Name} {DType.ToSafetensorsName()}{Shape}";
}
