namespace WeightSpace.Analysis.Similarity;

/// <summary>How <see cref="LayerSimilarity.Analyze"/> samples hidden states.</summary>
public sealed record LayerSimilarityOptions
{
    /// <summary>Tokens per window (each window is one independent sequence, as in <c>eval</c>).</summary>
    public int Window { get; init; } = 128;

    /// <summary>Windows taken from the start of the text: samples = windows × window. Every block's state is kept in
    /// float32, so memory is (layers + 1) · samples · hidden · 4 bytes per model.</summary>
    public int MaxWindows { get; init; } = 32;

    /// <summary>Windows per forward pass.</summary>
    public int BatchSize { get; init; } = 8;
}
