namespace WeightSpace.Analysis.Spectra;

/// <summary>How a layer's eigenvalues λ = σ² are computed (docs/spectra.md, "Eigenvalues: Gram or SVD").</summary>
public enum SpectralSolverKind
{
    /// <summary>Default: eigenvalues of the Gram matrix on the smaller side (W·Wᵀ or Wᵀ·W) by torch
    /// <c>linalg.eigvalsh</c>, about 3× faster than an SVD. Eigenvalues below ≈ M·ε·λ_max are not resolved, so layers
    /// whose answer depends on them (operator-mode convs, the numerical rank of rank-deficient layers) should use
    /// <see cref="Svd"/>; operator mode always does.</summary>
    Gram,

    /// <summary>torch <c>linalg.svdvals</c> on W itself: full relative accuracy of every singular value.</summary>
    Svd,
}
