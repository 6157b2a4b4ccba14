namespace WeightSpace.Analysis.Spectra;

/// <summary>Spectral comparison of a fine-tuned checkpoint with its base, one entry per tensor of the fine-tuned
/// checkpoint plus one per tensor only the base has.</summary>
/// <param name="FineTunedPath">The fine-tuned checkpoint.</param>
/// <param name="BaselinePath">The base checkpoint.</param>
/// <param name="Layers">Per-layer differences.</param>
/// <param name="MeanDeltaAlpha">Mean Δα over compared layers (null if none).</param>
/// <param name="MeanSubspaceOverlap">Mean subspace overlap over compared layers (null if none).</param>
/// <param name="TotalIntruders">Intruder dimensions over all layers.</param>
public sealed record SpectralDiffReport(
    string FineTunedPath, string BaselinePath, IReadOnlyList<LayerSpectralDiff> Layers,
    double? MeanDeltaAlpha, double? MeanSubspaceOverlap, int TotalIntruders);
