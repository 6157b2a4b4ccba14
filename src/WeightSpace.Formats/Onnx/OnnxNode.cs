namespace WeightSpace.Formats.Onnx;

/// <summary>A node of the top-level graph, in file order (ONNX requires topological order).</summary>
/// <param name="Name">Node name; may be empty.</param>
/// <param name="OpType">Operator, e.g. <c>Gemm</c>.</param>
/// <param name="Domain">Operator domain; empty for <c>ai.onnx</c>.</param>
/// <param name="Inputs">Input value names; an empty string marks an omitted optional input.</param>
/// <param name="Outputs">Output value names.</param>
/// <param name="Attributes">Attributes in file order.</param>
public sealed record OnnxNode(
    string Name,
    string OpType,
    string Domain,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<OnnxAttribute> Attributes);
