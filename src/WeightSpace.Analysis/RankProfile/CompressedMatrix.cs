namespace WeightSpace.Analysis.RankProfile;

/// <summary>One matrix replaced by its rank-r truncated SVD.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Rank">Rank kept.</param>
/// <param name="FullRank">min(rows, columns).</param>
/// <param name="RelativeError">‖W − W_r‖_F / ‖W‖_F = √(Σ_{i&gt;r} σᵢ²) / √(Σ σᵢ²), before rounding to the output dtype.</param>
/// <param name="FactorParameters">r · (rows + columns): the parameters of the factors.</param>
/// <param name="DenseParameters">rows · columns.</param>
public sealed record CompressedMatrix(string Name, int Rank, int FullRank, double RelativeError, long FactorParameters, long DenseParameters);
