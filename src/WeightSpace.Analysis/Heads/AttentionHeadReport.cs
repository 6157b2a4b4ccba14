namespace WeightSpace.Analysis.Heads;

/// <summary>The result of <see cref="AttentionHeadAnalysis.Analyze"/>: every analysed head's circuits.</summary>
/// <param name="Model">The model path.</param>
/// <param name="Baseline">The baseline path, or null.</param>
/// <param name="Layout">Heads, KV heads and head_dim used.</param>
/// <param name="HiddenSize">d_model.</param>
/// <param name="LayerCount">Blocks with attention in the model (analysed or not).</param>
/// <param name="Heads">Per layer, per head, in order.</param>
public sealed record AttentionHeadReport(string Model, string? Baseline, HeadLayout Layout, long HiddenSize, int LayerCount, IReadOnlyList<HeadCircuits> Heads)
{
    /// <summary>The <paramref name="count"/> heads with the largest <see cref="HeadCircuits.MaxChange"/>, largest first
    /// (empty without a baseline).</summary>
    public IReadOnlyList<HeadCircuits> MostChanged(int count) =>
        [.. Heads.Where(h => h.MaxChange is not null).OrderByDescending(h => h.MaxChange!.Value).ThenBy(h => h.Layer).ThenBy(h => h.Head).Take(count)];
}
