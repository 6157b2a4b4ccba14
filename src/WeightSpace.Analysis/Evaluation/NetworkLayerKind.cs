namespace WeightSpace.Analysis.Evaluation;

/// <summary>The operations a <see cref="NetworkArchitecture"/> chains.</summary>
public enum NetworkLayerKind
{
    /// <summary>y = x Wᵀ + b with <c>name.weight</c> [out, in] and optional <c>name.bias</c>.</summary>
    Linear,
    /// <summary>2-D convolution with <c>name.weight</c> [out, in, kh, kw] and optional <c>name.bias</c>.</summary>
    Conv2d,
    /// <summary>BatchNorm over channels with <c>name.weight</c>, <c>.bias</c>, <c>.running_mean</c>, <c>.running_var</c>.</summary>
    BatchNorm,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>Max pooling with a square window and equal stride.</summary>
    MaxPool2d,
    /// <summary>Flattens every axis after the batch axis (C order, as PyTorch's <c>flatten(1)</c>).</summary>
    Flatten,
}
