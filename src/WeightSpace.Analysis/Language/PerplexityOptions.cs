namespace WeightSpace.Analysis.Language;

/// <summary>Which predictions of a text are scored (the evaluation protocol, see docs/evaluation.md).</summary>
/// <remarks>The defaults are the protocol of shared/data/llm's README: independent windows of 128 tokens, the first
/// token of each window context only, so positions 1 … 127 of every window are scored.</remarks>
public sealed record PerplexityOptions
{
    /// <summary>Tokens per window (at least 2, at most the model's max_position_embeddings).</summary>
    public int Window { get; init; } = 128;

    /// <summary>Tokens between window starts (1 … <see cref="Window"/>); null means <see cref="Window"/>: disjoint,
    /// independent windows. With a smaller stride each window re-reads the previous one's tail as context and scores only
    /// the tokens it adds (Hugging Face's sliding-window perplexity).</summary>
    public int? Stride { get; init; }

    /// <summary>Windows per forward pass (at most); shorter last windows run in a batch of their own.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Score only the first this many windows (quick checks); null scores all.</summary>
    public int? MaxWindows { get; init; }
}
