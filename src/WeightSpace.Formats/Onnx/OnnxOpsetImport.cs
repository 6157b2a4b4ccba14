namespace WeightSpace.Formats.Onnx;

/// <summary>One entry of <c>ModelProto.opset_import</c>.</summary>
/// <param name="Domain">Operator domain; empty for the default <c>ai.onnx</c> domain.</param>
/// <param name="Version">Opset version.</param>
public sealed record OnnxOpsetImport(string Domain, long Version);
