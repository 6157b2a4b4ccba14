using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Task arithmetic (Ilharco et al. 2023, eq. 1): θ = θ₀ + λ·Σᵢ wᵢ·τᵢ with τᵢ = θᵢ − θ₀; normalize divides by Σᵢ wᵢ.</summary>
internal sealed class TaskArithmetic() : GeneralizedTaskArithmetic("task_arithmetic", "https://arxiv.org/abs/2212.04089", Sparsification.None, consensus: false,
    defaultNormalize: false, defaultRescale: false,
    semanticsDescription: null);
