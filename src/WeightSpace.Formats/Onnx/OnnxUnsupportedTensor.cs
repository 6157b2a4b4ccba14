namespace WeightSpace.Formats.Onnx;

/// <summary>A weight-like tensor the reader found but cannot expose as a <see cref="TensorInfo"/>: its element type has
/// no <see cref="DType"/> (STRING, UINT16/32/64, complex, float8 FNUZ, 4-bit types), or it is sparse, or a Constant
/// holds strings. Listed so nothing is dropped silently.</summary>
/// <param name="Name">The initializer name or the Constant node's output.</param>
/// <param name="GraphPath">The graph holding it (same format as <see cref="OnnxWeight.GraphPath"/>).</param>
/// <param name="Kind">Initializer (including sparse initializers) or Constant.</param>
/// <param name="DataType">The ONNX <c>TensorProto.DataType</c> code, 0 when not a tensor (e.g. <c>value_strings</c>).</param>
/// <param name="Dimensions">The declared dimensions, empty when unknown.</param>
/// <param name="Reason">Why it is not readable, e.g. <c>data type UINT16 (4) has no WeightSpace dtype</c>.</param>
public sealed record OnnxUnsupportedTensor(
    string Name,
    string GraphPath,
    OnnxWeightKind Kind,
    int DataType,
    IReadOnlyList<long> Dimensions,
    string Reason);
