namespace WeightSpace.Formats.Onnx;

/// <summary>Safe limits for <see cref="OnnxReader.Open"/>. Defaults accept every real model seen so far with a wide margin.</summary>
public sealed record OnnxOptions
{
    /// <summary>Deepest nesting of subgraphs (If/Loop/Scan bodies) walked; the top-level graph is depth 0.
    /// silero_vad v5 nests 4 deep. Bounds recursion on hostile files, like <c>JsonReaderOptions.MaxDepth</c>.</summary>
    public int MaxSubgraphDepth { get; init; } = 32;

    /// <summary>Most weight tensors (readable plus unsupported) accepted over all graphs.</summary>
    public int MaxTensors { get; init; } = 1_000_000;

    /// <summary>Most nodes accepted over all graphs.</summary>
    public int MaxNodes { get; init; } = 10_000_000;

    /// <summary>Whether tensors whose bytes live in external files may be read. When false, a model with external
    /// data is rejected at open.</summary>
    public bool AllowExternalData { get; init; } = true;
}
