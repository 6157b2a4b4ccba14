using WeightSpace.Analysis.Heads;
using WeightSpace.Analysis.Naming;

namespace WeightSpace.Cli.Commands;

/// <summary>What <c>weightspace report</c> adds for transformer checkpoints: the head analysis when the head counts
/// are known, the rank profile always, neuron decoding when there is an unembedding.</summary>
internal static class TransformerView
{
    public static bool HasAttention(TensorStore store) => store.Tensors.Any(t => TensorNames.Parse(t.Name).IsAttention);

    /// <summary>The head analysis, or null when no config.json / GGUF metadata gives the head counts (the report then
    /// has no head section rather than failing).</summary>
    public static AttentionHeadReport? TryHeads(TensorStore store, TensorStore? baseline)
    {
        try { return AttentionHeadAnalysis.Analyze(store, baseline); }
        catch (InvalidHeadLayoutException) { return null; }
    }

    /// <summary>True if the model (and the baseline, if any) has MLP down projections and an unembedding (lm_head or
    /// token embeddings), which neuron decoding needs.</summary>
    public static bool CanDecodeNeurons(TensorStore store, TensorStore? baseline)
    {
        static bool Has(TensorStore s) =>
            s.Tensors.Any(t => TensorNames.Parse(t.Name).Role == TensorRole.Down) &&
            s.Tensors.Any(t => t.Shape.Rank == 2 && TensorNames.Parse(t.Name).Role is TensorRole.LmHead or TensorRole.TokenEmbedding);
        return Has(store) && (baseline is null || Has(baseline));
    }
}
