namespace WeightSpace.Analysis.TaskVectors;

/// <summary>Task-vector statistics of one tensor, one layer group or the whole model.</summary>
/// <param name="Name">Tensor name, group name (see <see cref="TaskVectorAnalysis"/>) or <c>*</c> for the whole model.</param>
/// <param name="ElementCount">Entries covered.</param>
/// <param name="BaseNorm">‖θ₀‖₂ over those entries.</param>
/// <param name="Models">Per fine-tuned model, in input order.</param>
/// <param name="Cosine">Cosine between task vectors, [i][j] over models (1 on the diagonal; 0 when either Δ is zero).</param>
/// <param name="SignAgreement">[i][j]: fraction of all entries where Δᵢ and Δⱼ are both non-zero with the same sign.</param>
public sealed record DeltaSummary(string Name, long ElementCount, double BaseNorm, IReadOnlyList<ModelDelta> Models, double[][] Cosine, double[][] SignAgreement)
{
    /// <summary>Mean of <see cref="ModelDelta.RelativeChange"/> over models: the key of <see cref="TaskVectorReport.LayerRanking"/>.</summary>
    public double MeanRelativeChange => Models.Count == 0 ? 0 : Models.Average(m => m.RelativeChange);
}
