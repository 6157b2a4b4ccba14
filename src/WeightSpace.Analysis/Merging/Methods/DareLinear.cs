using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>DARE (Yu et al. 2024, eq. 1–2) with a weighted sum: drop each Δ entry with probability 1 − density, rescale, then task arithmetic.</summary>
internal sealed class DareLinear() : GeneralizedTaskArithmetic("dare_linear", "https://arxiv.org/abs/2311.03099", Sparsification.Random, consensus: false,
    defaultNormalize: false, defaultRescale: true,
    semanticsDescription: "mergekit: rescale kept entries to the original L1 norm; paper: rescale by 1/density (eq. 2).");
