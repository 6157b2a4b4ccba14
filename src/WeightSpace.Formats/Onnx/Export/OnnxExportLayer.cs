namespace WeightSpace.Formats.Onnx.Export;

/// <summary>One layer of a feed-forward chain for <see cref="OnnxExporter"/>.</summary>
/// <param name="Operator">The operation.</param>
/// <param name="Name">Module name whose <c>.weight</c>/<c>.bias</c> (and BatchNorm statistics) the layer reads; null for
/// Relu, MaxPool2d and Flatten.</param>
/// <param name="Kernel">MaxPool2d window (and stride).</param>
/// <param name="Stride">Conv2d stride.</param>
/// <param name="Padding">Conv2d zero padding on each side.</param>
public sealed record OnnxExportLayer(OnnxExportOperator Operator, string? Name = null, int Kernel = 0, int Stride = 1, int Padding = 0);
