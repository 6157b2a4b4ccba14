using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>An evaluator that can recompute normalisation statistics for a weight vector (BatchNorm reset, the first
/// step of REPAIR: Jordan et al., ICLR 2023, <see href="https://arxiv.org/abs/2211.08403"/>).</summary>
public interface INormalizationReset
{
    /// <summary>A copy of <paramref name="weights"/> whose BatchNorm running mean and variance are the statistics of
    /// each layer's input on <paramref name="data"/>, computed layer by layer with the already-reset layers before it.</summary>
    InMemoryTensorStore ResetNormalization(TensorStore weights, Dataset data, CancellationToken cancellationToken = default);
}
