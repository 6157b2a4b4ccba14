namespace WeightSpace.Analysis.Spectra;

/// <summary>How one layer's spectrum changed from a base checkpoint to a fine-tuned one. Deltas are fine-tuned minus
/// base, null when either side lacks the metric.</summary>
public sealed record LayerSpectralDiff
{
    /// <summary>Tensor name.</summary>
    public required string Name { get; init; }
    /// <summary>Stored shape (the same in both checkpoints when compared).</summary>
    public required IReadOnlyList<long> Shape { get; init; }
    /// <summary>Analysed, skipped or failed (<c>ok</c>, <c>skipped</c>, <c>failed</c> in JSON and CSV).</summary>
    public required LayerStatus Status { get; init; }
    /// <summary>Why it was skipped or failed.</summary>
    public string? Reason { get; init; }
    /// <summary>The fine-tuned layer's spectrum (eigenvalues omitted).</summary>
    public LayerSpectrum? FineTuned { get; init; }
    /// <summary>The base layer's spectrum (eigenvalues omitted).</summary>
    public LayerSpectrum? Baseline { get; init; }
    /// <summary>Δα.</summary>
    public double? DeltaAlpha { get; init; }
    /// <summary>Δλ_max (WeightWatcher's spectral norm).</summary>
    public double? DeltaLambdaMax { get; init; }
    /// <summary>Δσ_max.</summary>
    public double? DeltaSigmaMax { get; init; }
    /// <summary>Δ stable rank.</summary>
    public double? DeltaStableRank { get; init; }
    /// <summary>Δ effective rank.</summary>
    public double? DeltaEffectiveRank { get; init; }
    /// <summary>k actually compared (the option, capped by the matrix's smaller side).</summary>
    public int? SubspaceRank { get; init; }
    /// <summary>Mean cos² of the principal angles between the top-k left singular subspaces: 1 identical, k/N expected
    /// for unrelated random subspaces.</summary>
    public double? SubspaceOverlap { get; init; }
    /// <summary>Cosines of the k principal angles, descending.</summary>
    public IReadOnlyList<double>? PrincipalCosines { get; init; }
    /// <summary>Intruder dimensions among the fine-tuned top-k vectors.</summary>
    public IReadOnlyList<IntruderDimension>? Intruders { get; init; }
    /// <summary>Number of intruders.</summary>
    public int? IntruderCount { get; init; }
}
