namespace WeightSpace;

/// <summary>What a checkpoint says about one tensor, known without reading its data.</summary>
/// <param name="Name">Fully qualified name, e.g. <c>encoder.layers.0.fc1.weight</c>.</param>
/// <param name="DType">Stored element type.</param>
/// <param name="Shape">Logical shape (C order).</param>
public sealed record TensorInfo(string Name, DType DType, Shape Shape)
{
    /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Bytes of the tensor's data when laid out contiguously.</summary>
    public long ByteCount => checked(Shape.ElementCount * DType.SizeInBytes());

    /// <summary>Formats as <c>fc1.weight F32[128, 64]</c>.</summary>
    public override string ToString() => $"{Name} {DType.ToSafetensorsName()}{Shape}";
}
