namespace WeightSpace.Analysis.Heads;

/// <summary>What <see cref="AttentionHeadAnalysis.Analyze"/> covers.</summary>
public sealed record AttentionHeadOptions
{
    /// <summary>Only this block, or every block when null.</summary>
    public int? Layer { get; init; }

    /// <summary>Explicit <c>num_attention_heads</c> (overrides config.json and GGUF metadata).</summary>
    public int? HeadCount { get; init; }

    /// <summary>Explicit <c>num_key_value_heads</c>.</summary>
    public int? KeyValueHeadCount { get; init; }

    /// <summary>Largest float64 working tensor per batch of heads, in elements (bounds memory on 7B-sized layers:
    /// 2²² elements = 32 MiB).</summary>
    public long MaxBatchElements { get; init; } = 1 << 22;
}
