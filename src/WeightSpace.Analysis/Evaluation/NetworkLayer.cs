using WeightSpace.Formats.Onnx.Export;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>One step of a <see cref="NetworkArchitecture"/>: an operation and, for layers with weights, the module
/// name whose <c>.weight</c>/<c>.bias</c> tensors it reads.</summary>
/// <param name="Kind">The operation. The kinds are the ONNX exporter's operators: one list, so every chain the
/// evaluator runs is one <see cref="OnnxExporter"/> can write.</param>
/// <param name="Name">Module name (e.g. <c>fc1</c>, <c>layers.0</c>); null for Relu, MaxPool2d and Flatten.</param>
/// <param name="Kernel">Pooling window (MaxPool2d).</param>
/// <param name="Stride">Convolution stride.</param>
/// <param name="Padding">Convolution zero padding on each side.</param>
public sealed record NetworkLayer(OnnxExportOperator Kind, string? Name = null, int Kernel = 0, int Stride = 1, int Padding = 0)
{
    /// <summary>A Linear layer reading <c>name.weight</c> and <c>name.bias</c>.</summary>
    public static NetworkLayer Linear(string name) => new(OnnxExportOperator.Linear, name);

    /// <summary>A Conv2d layer reading <c>name.weight</c> and <c>name.bias</c>.</summary>
    public static NetworkLayer Conv2d(string name, int stride = 1, int padding = 0) => new(OnnxExportOperator.Conv2d, name, Stride: stride, Padding: padding);

    /// <summary>A BatchNorm layer reading <c>name.weight</c>, <c>.bias</c>, <c>.running_mean</c>, <c>.running_var</c>.</summary>
    public static NetworkLayer BatchNorm(string name) => new(OnnxExportOperator.BatchNorm, name);

    /// <summary>A ReLU.</summary>
    public static NetworkLayer Relu() => new(OnnxExportOperator.Relu);

    /// <summary>A max pooling with a <paramref name="kernel"/>×<paramref name="kernel"/> window and the same stride.</summary>
    public static NetworkLayer MaxPool2d(int kernel) => new(OnnxExportOperator.MaxPool2d, Kernel: kernel);

    /// <summary>A flatten of every axis after the batch axis.</summary>
    public static NetworkLayer Flatten() => new(OnnxExportOperator.Flatten);
}
