using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Model Breadcrumbs masks (Davari &amp; Belilovsky 2023) followed by TIES sign election and disjoint mean.</summary>
internal sealed class BreadcrumbsTies() : GeneralizedTaskArithmetic("breadcrumbs_ties", "https://arxiv.org/abs/2312.06795", Sparsification.MagnitudeOutliers, consensus: true,
    defaultNormalize: false, defaultRescale: false,
    semanticsDescription: "mergekit: empty slice when no top entries are dropped, weighted vote, zero vote → +; paper: keep the top density, unweighted vote, zero vote → θ₀.");
