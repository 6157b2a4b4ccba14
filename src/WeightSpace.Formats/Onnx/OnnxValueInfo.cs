namespace WeightSpace.Formats.Onnx;

/// <summary>A graph input or output.</summary>
/// <param name="Name">Value name.</param>
/// <param name="ElementType">ONNX <c>TensorProto.DataType</c> code of a tensor type (1 = FLOAT); 0 for non-tensor or missing types.</param>
/// <param name="Dimensions">The shape, or null when the type carries none (unknown rank). Empty for a scalar.</param>
public sealed record OnnxValueInfo(string Name, int ElementType, IReadOnlyList<OnnxDimension>? Dimensions);
