namespace WeightSpace.Analysis.Similarity;

/// <summary>The similarity of one pair of representations, labelled.</summary>
/// <param name="Label">What is compared: <c>block 3</c> (input → output of block 3), <c>state 2</c> (the same
/// residual-stream state of two models), or a tensor name.</param>
/// <param name="Layer">The block (or state) index, or null.</param>
/// <param name="Scores">The indices.</param>
public sealed record LayerPairSimilarity(string Label, int? Layer, SimilarityScores Scores);
