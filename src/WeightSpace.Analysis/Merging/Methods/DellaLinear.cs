using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>DELLA MagPrune (Deep et al. 2024, §3.1) followed by a weighted sum (no sign election).</summary>
internal sealed class DellaLinear() : GeneralizedTaskArithmetic("della_linear", "https://arxiv.org/abs/2406.11617", Sparsification.DellaMagprune, consensus: false,
    defaultNormalize: false, defaultRescale: true,
    semanticsDescription: "mergekit: rescale kept entries to the original L1 norm; paper: rescale each kept entry by 1/pᵢ (eq. 3).");
