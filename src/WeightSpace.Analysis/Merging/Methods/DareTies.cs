using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>DARE (Yu et al. 2024, eq. 1–2) sparsification followed by TIES sign election and disjoint mean.</summary>
internal sealed class DareTies() : GeneralizedTaskArithmetic("dare_ties", "https://arxiv.org/abs/2311.03099", Sparsification.Random, consensus: true,
    defaultNormalize: false, defaultRescale: true,
    semanticsDescription: "mergekit: L1 rescale, vote on weighted Δ, zero vote → +; paper: rescale by 1/density, vote on unweighted τ, zero vote → θ₀.");
