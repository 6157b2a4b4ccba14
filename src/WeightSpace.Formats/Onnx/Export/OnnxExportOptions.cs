namespace WeightSpace.Formats.Onnx.Export;

/// <summary>Settings of <see cref="OnnxExporter"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Shape of one sample without the batch axis, e.g. [784] or [28, 28] or [1, 28, 28]. A rank-2 sample
    /// before a first Conv2d gets a channel axis (an <c>Unsqueeze</c>), as PyTorch code usually does.</summary>
    public required IReadOnlyList<long> SampleShape { get; init; }

    /// <summary>Name of the graph input; default <c>input</c>.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>Name of the graph output (the logits); default <c>logits</c>.</summary>
    public string OutputName { get; init; } = "logits";

    /// <summary>Also list every initializer as a graph input, so ONNX Runtime lets callers feed new weights at every
    /// run ("overridable initializers"); default false.</summary>
    public bool InitializersAsInputs { get; init; }

    /// <summary>Written to <c>producer_name</c>; default <c>weightspace</c>.</summary>
    public string ProducerName { get; init; } = "weightspace";
}
