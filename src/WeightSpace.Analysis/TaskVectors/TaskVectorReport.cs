namespace WeightSpace.Analysis.TaskVectors;

/// <summary>What each fine-tune changed relative to a base, per tensor, per layer group and for the whole model.</summary>
/// <param name="BaseModel">The base's path.</param>
/// <param name="Models">The fine-tuned models' paths, in the order of every per-model list.</param>
/// <param name="Tensors">Per floating-point tensor, in the base's order.</param>
/// <param name="Groups">Per layer group, in order of first appearance.</param>
/// <param name="Whole">The whole model.</param>
/// <param name="Skipped">Mismatches left out (only with <see cref="TaskVectorOptions.SkipMismatched"/>).</param>
public sealed record TaskVectorReport(string BaseModel, IReadOnlyList<string> Models, IReadOnlyList<DeltaSummary> Tensors,
    IReadOnlyList<DeltaSummary> Groups, DeltaSummary Whole, IReadOnlyList<TensorMismatch> Skipped)
{
    /// <summary>Layer groups by <see cref="DeltaSummary.MeanRelativeChange"/>, largest first: which layers changed most.</summary>
    public IReadOnlyList<DeltaSummary> LayerRanking => Groups.OrderByDescending(g => g.MeanRelativeChange).ThenBy(g => g.Name, StringComparer.Ordinal).ToArray();
}
