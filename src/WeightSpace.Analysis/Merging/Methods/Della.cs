using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>DELLA (Deep et al. 2024, §3): magnitude-ranked random drop (MagPrune), rescale, then TIES sign election and disjoint mean.</summary>
internal sealed class Della() : GeneralizedTaskArithmetic("della", "https://arxiv.org/abs/2406.11617", Sparsification.DellaMagprune, consensus: true,
    defaultNormalize: true, defaultRescale: true,
    semanticsDescription: "mergekit: rescale kept entries to the original L1 norm, weighted vote, zero vote → +; paper: rescale each kept entry by 1/pᵢ (eq. 3), unweighted vote, zero vote → θ₀.");
