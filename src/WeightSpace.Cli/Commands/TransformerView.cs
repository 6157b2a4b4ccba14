using WeightSpace.Analysis.Heads;
using WeightSpace.Analysis.Naming;

namespace WeightSpace.Cli.Commands;

/// <summary>What <c>weightspace report</c> adds for transformer checkpoints: the head analysis when the head counts
/// are known, the rank profile always.</summary>
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
}
