namespace WeightSpace.Analysis.TaskVectors;

/// <summary>Task-vector statistics of one tensor, one layer group or the whole model.</summary>
/// <param name="Name">Tensor name, group name (see <see cref="TaskVectorAnalysis"/>) or <c>*</c> for the whole model.</param>
/// <param name="ElementCount">Entries covered.</param>
/// <param name="BaseNorm">‖θ₀‖₂ over those entries.</param>
/// <param name="Models">Per fine-tuned model, in input order.</param>
/// <param name="Cosine">Cosine between task vectors, [i][j] over models (1 on the diagonal; 0 when either Δ is zero).</param>
/// <param name="SignAgreement">[i][j]: fraction of all entries where Δᵢ and Δⱼ are both non-zero with the same sign.</param>
/// <param name="SignConflict">[i][j]: fraction of all entries where Δᵢ and Δⱼ are both non-zero with opposite signs
/// (0 on the diagonal).</param>
public sealed record DeltaSummary(string Name, long ElementCount, double BaseNorm, IReadOnlyList<ModelDelta> Models, double[][] Cosine,
    double[][] SignAgreement, double[][] SignConflict)
{
    /// <summary>Share of conflicting signs above which two fine-tunes are reported as interfering (the sign conflicts
    /// TIES-Merging resolves; Yadav et al. 2023).</summary>
    public const double HighConflictShare = 0.3;

    /// <summary>Of the entries both fine-tunes <paramref name="i"/> and <paramref name="j"/> changed, the share with
    /// opposite signs: conflict / (agreement + conflict); 0 when they share no changed entry.</summary>
    public double ConflictShare(int i, int j)
    {
        double both = SignAgreement[i][j] + SignConflict[i][j];
        return both > 0 ? SignConflict[i][j] / both : 0;
    }

    /// <summary>True when <see cref="ConflictShare"/> exceeds <see cref="HighConflictShare"/>.</summary>
    public bool ConflictsHeavily(int i, int j) => ConflictShare(i, j) > HighConflictShare;

    /// <summary>Mean of <see cref="ModelDelta.RelativeChange"/> over models: the key of <see cref="TaskVectorReport.LayerRanking"/>.</summary>
    public double MeanRelativeChange => Models.Count == 0 ? 0 : Models.Average(m => m.RelativeChange);
}
