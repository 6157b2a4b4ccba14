namespace WeightSpace.Analysis.Outliers;

/// <summary>The largest-magnitude weights of one matrix.</summary>
/// <param name="Tensor">The tensor's name.</param>
/// <param name="Layer">Its block index, or null.</param>
/// <param name="Role">What the tensor is for (from its name).</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Rms">√(Σw² / n) over the matrix.</param>
/// <param name="Outliers">The top weights by |w|, largest first (ties: lower flat index first).</param>
public sealed record MatrixOutliers(string Tensor, int? Layer, TensorRole Role, Shape Shape, double Rms, IReadOnlyList<WeightOutlier> Outliers);
