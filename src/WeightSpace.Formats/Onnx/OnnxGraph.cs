namespace WeightSpace.Formats.Onnx;

/// <summary>The structure of the top-level graph, without weight data: for analyses that need wiring
/// (permutation specs, ONNX Runtime evaluation).</summary>
/// <param name="Name">Graph name.</param>
/// <param name="Nodes">Nodes in file order.</param>
/// <param name="Inputs">Graph inputs as declared (IR &lt; 4 models also list their initializers here).</param>
/// <param name="Outputs">Graph outputs.</param>
/// <param name="InitializerNames">Names of the top-level initializers (the ONNX names, not the unique store names).</param>
public sealed record OnnxGraph(
    string Name,
    IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs,
    IReadOnlyList<string> InitializerNames);
