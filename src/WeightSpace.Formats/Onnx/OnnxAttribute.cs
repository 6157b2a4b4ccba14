namespace WeightSpace.Formats.Onnx;

/// <summary>A node attribute of the top-level graph. Scalars are the single element of their list
/// (<c>Int</c> → <see cref="Ints"/>[0]); tensors and subgraphs are not copied here (see <see cref="OnnxModel.Weights"/>
/// for Constant values and <see cref="SubgraphPaths"/> for bodies).</summary>
/// <param name="Name">Attribute name, e.g. <c>kernel_shape</c>.</param>
/// <param name="Type">The declared type; when a file omits it, inferred from the field present.</param>
/// <param name="Ints">The <c>i</c> or <c>ints</c> values.</param>
/// <param name="Floats">The <c>f</c> or <c>floats</c> values.</param>
/// <param name="Strings">The <c>s</c> or <c>strings</c> values, decoded as UTF-8.</param>
/// <param name="SubgraphPaths">Graph paths (as in <see cref="OnnxWeight.GraphPath"/>) of <c>g</c>/<c>graphs</c> bodies.</param>
public sealed record OnnxAttribute(
    string Name,
    OnnxAttributeType Type,
    IReadOnlyList<long> Ints,
    IReadOnlyList<float> Floats,
    IReadOnlyList<string> Strings,
    IReadOnlyList<string> SubgraphPaths);
