using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>TIES-Merging (Yadav et al. 2023, §3, Algorithm 1): trim each τᵢ to its top-density magnitudes, elect the sign with the larger total mass, average the agreeing entries.</summary>
internal sealed class Ties() : GeneralizedTaskArithmetic("ties", "https://arxiv.org/abs/2306.01708", Sparsification.Magnitude, consensus: true,
    defaultNormalize: true, defaultRescale: false,
    semanticsDescription: "mergekit: trim to the top density of each tensor, vote on weighted Δ, zero vote → +; paper: trim against a whole-model threshold, vote on unweighted τ, zero vote → θ₀.");
