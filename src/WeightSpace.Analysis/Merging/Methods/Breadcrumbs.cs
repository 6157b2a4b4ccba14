using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Model Breadcrumbs (Davari &amp; Belilovsky 2023, §3): drop the largest gamma and the smallest entries of each τᵢ so density remain, then task arithmetic.</summary>
internal sealed class Breadcrumbs() : GeneralizedTaskArithmetic("breadcrumbs", "https://arxiv.org/abs/2312.06795", Sparsification.MagnitudeOutliers, consensus: false,
    defaultNormalize: false, defaultRescale: false,
    semanticsDescription: "mergekit: when no top entries are dropped (int(gamma·n) = 0) the kept slice is empty and Δ becomes zero; paper: keep the top density.");
