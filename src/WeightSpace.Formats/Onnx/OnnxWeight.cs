namespace WeightSpace.Formats.Onnx;

/// <summary>One readable weight tensor of an ONNX model: an initializer or a Constant node's value, in any graph.</summary>
/// <param name="Info">Name (unique within the model, see <see cref="OnnxModel"/> for the rule), dtype and shape.</param>
/// <param name="OnnxName">The name as the model writes it: the initializer name or the Constant node's output.</param>
/// <param name="GraphPath">The graph holding it: <c>graph</c> for the top level, then <c>/{node name or op type}.{attribute}</c>
/// per subgraph, with <c>[i]</c> for the i-th graph of a <c>graphs</c> attribute, e.g. <c>graph/If_0.then_branch</c>.</param>
/// <param name="Kind">Initializer or Constant.</param>
/// <param name="Storage">Where the bytes live.</param>
/// <param name="DataType">The ONNX <c>TensorProto.DataType</c> code (1 = FLOAT, 7 = INT64, …).</param>
/// <param name="External">The external-data entries when <see cref="Storage"/> is <see cref="OnnxStorage.External"/>, else null.</param>
public sealed record OnnxWeight(
    TensorInfo Info,
    string OnnxName,
    string GraphPath,
    OnnxWeightKind Kind,
    OnnxStorage Storage,
    int DataType,
    OnnxExternalData? External);
