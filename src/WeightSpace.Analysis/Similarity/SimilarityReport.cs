namespace WeightSpace.Analysis.Similarity;

/// <summary>The result of <see cref="LayerSimilarity"/>: activation-based similarities (with a text) and the
/// weight-only ones.</summary>
/// <param name="Model">The model path.</param>
/// <param name="Against">The second model, or null.</param>
/// <param name="Text">The text the hidden states come from, or null (weight-only).</param>
/// <param name="Samples">Token positions (rows) the hidden states have.</param>
/// <param name="Blocks">Per block of <paramref name="Model"/>: its input against its output.</param>
/// <param name="AgainstBlocks">The same for <paramref name="Against"/>, or empty.</param>
/// <param name="CrossModel">Per residual-stream state: <paramref name="Model"/>'s against <paramref name="Against"/>'s.</param>
/// <param name="ConsecutiveWeights">Weight-only: each matrix against the same-role matrix of the next block.</param>
/// <param name="CrossModelWeights">Weight-only: each matrix against the same matrix of <paramref name="Against"/>.</param>
public sealed record SimilarityReport(string Model, string? Against, string? Text, int Samples,
    IReadOnlyList<LayerPairSimilarity> Blocks, IReadOnlyList<LayerPairSimilarity> AgainstBlocks, IReadOnlyList<LayerPairSimilarity> CrossModel,
    IReadOnlyList<LayerPairSimilarity> ConsecutiveWeights, IReadOnlyList<LayerPairSimilarity> CrossModelWeights);
