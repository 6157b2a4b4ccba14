namespace WeightSpace.Analysis.Evaluation;

/// <summary>One step of a <see cref="NetworkArchitecture"/>: an operation and, for layers with weights, the module
/// name whose <c>.weight</c>/<c>.bias</c> tensors it reads.</summary>
/// <param name="Kind">The operation.</param>
/// <param name="Name">Module name (e.g. <c>fc1</c>, <c>layers.0</c>); null for Relu, MaxPool2d and Flatten.</param>
/// <param name="Kernel">Pooling window (MaxPool2d).</param>
/// <param name="Stride">Convolution stride.</param>
/// <param name="Padding">Convolution zero padding on each side.</param>
public sealed record NetworkLayer(NetworkLayerKind Kind, string? Name = null, int Kernel = 0, int Stride = 1, int Padding = 0)
{
    /// <summary>A Linear layer reading <c>name.weight</c> and <c>name.bias</c>.</summary>
    public static NetworkLayer Linear(string name) => new(NetworkLayerKind.Linear, name);

    /// <summary>A Conv2d layer reading <c>name.weight</c> and <c>name.bias</c>.</summary>
    public static NetworkLayer Conv2d(string name, int stride = 1, int padding = 0) => new(NetworkLayerKind.Conv2d, name, Stride: stride, Padding: padding);

    /// <summary>A BatchNorm layer reading <c>name.weight</c>, <c>.bias</c>, <c>.running_mean</c>, <c>.running_var</c>.</summary>
    public static NetworkLayer BatchNorm(string name) => new(NetworkLayerKind.BatchNorm, name);

    /// <summary>A ReLU.</summary>
    public static NetworkLayer Relu() => new(NetworkLayerKind.Relu);

    /// <summary>A max pooling with a <paramref name="kernel"/>×<paramref name="kernel"/> window and the same stride.</summary>
    public static NetworkLayer MaxPool2d(int kernel) => new(NetworkLayerKind.MaxPool2d, Kernel: kernel);

    /// <summary>A flatten of every axis after the batch axis.</summary>
    public static NetworkLayer Flatten() => new(NetworkLayerKind.Flatten);
}
