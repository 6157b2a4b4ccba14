namespace WeightSpace.Analysis.Lora;

/// <summary>One module of an extracted adapter.</summary>
/// <param name="Module">Module name in the base.</param>
/// <param name="Rows">ΔW rows (out features; embedding: num_embeddings).</param>
/// <param name="Columns">ΔW columns (in features; embedding: dim).</param>
/// <param name="Rank">Rank kept.</param>
/// <param name="DeltaNorm">‖ΔW‖_F.</param>
/// <param name="RetainedEnergy">Σ_{i&lt;r} σᵢ² / ‖ΔW‖²_F.</param>
/// <param name="RelativeError">‖ΔW − B·A‖_F / ‖ΔW‖_F, measured on the written factors' float64 values.</param>
/// <param name="Solver"><c>exact</c> or <c>randomized</c>.</param>
/// <param name="IsEmbedding">True when written as <c>lora_embedding_A/B</c>.</param>
public sealed record ExtractedModule(string Module, long Rows, long Columns, int Rank, double DeltaNorm, double RetainedEnergy,
    double RelativeError, string Solver, bool IsEmbedding)
{
    /// <summary>Outlier weights of the base or fine-tune (≥ <see cref="LoraExtraction.OutlierRatio"/> × RMS) that the
    /// written factors do not reproduce; empty when all are kept or the check is off.</summary>
    public IReadOnlyList<LoraOutlierChange> OutlierChanges { get; init; } = [];

    /// <summary>Value equality, the outlier changes compared element by element (a sharded run's modules equal one run's).</summary>
    public bool Equals(ExtractedModule? other) =>
        other is not null && Module == other.Module && Rows == other.Rows && Columns == other.Columns && Rank == other.Rank
        && DeltaNorm.Equals(other.DeltaNorm) && RetainedEnergy.Equals(other.RetainedEnergy) && RelativeError.Equals(other.RelativeError)
        && Solver == other.Solver && IsEmbedding == other.IsEmbedding && OutlierChanges.SequenceEqual(other.OutlierChanges);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Module, Rows, Columns, Rank, DeltaNorm, Solver, OutlierChanges.Count);
}
