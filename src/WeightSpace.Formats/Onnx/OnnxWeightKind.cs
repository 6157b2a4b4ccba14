namespace WeightSpace.Formats.Onnx;

/// <summary>Where in the graph a weight tensor is declared.</summary>
public enum OnnxWeightKind
{
    /// <summary>An entry of <c>GraphProto.initializer</c>.</summary>
    Initializer,
    /// <summary>The value of a <c>Constant</c> node (its <c>value</c> tensor, or a <c>value_float(s)</c>/<c>value_int(s)</c> list).</summary>
    Constant,
}
