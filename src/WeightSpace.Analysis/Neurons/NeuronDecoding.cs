namespace WeightSpace.Analysis.Neurons;

/// <summary>The result of <see cref="NeuronDecoder.Decode"/>: each MLP neuron's top tokens, and with a baseline the
/// share of neurons whose top token stayed and the neurons that changed most.</summary>
public sealed record NeuronDecoding
{
    /// <summary>The decoded checkpoint.</summary>
    public required string Model { get; init; }
    /// <summary>The baseline, or null.</summary>
    public string? Baseline { get; init; }
    /// <summary>The unembedding used (<c>lm_head.weight</c>, or the tied token embeddings).</summary>
    public required string Unembedding { get; init; }
    /// <summary>The final norm weight applied before it, or null when none was (absent, or not asked for).</summary>
    public string? FinalNorm { get; init; }
    /// <summary>Tokens kept per neuron.</summary>
    public required int TopK { get; init; }
    /// <summary>One entry per decoded matrix, in block order.</summary>
    public required IReadOnlyList<NeuronLayer> Layers { get; init; }
    /// <summary>With a baseline: the neurons that changed most, lowest top-k overlap first, then lowest logit cosine.</summary>
    public IReadOnlyList<NeuronChange> MostChanged { get; init; } = [];

    /// <summary>Neurons decoded over all layers.</summary>
    public long NeuronCount => Layers.Sum(l => (long)l.NeuronCount);

    /// <summary>Share of all neurons whose top-1 token is the baseline's; null without a baseline.</summary>
    public double? ShareTop1Unchanged =>
        Baseline is null ? null : Layers.Sum(l => (long)(l.Top1Unchanged ?? 0)) / (double)Math.Max(1, NeuronCount);
}
