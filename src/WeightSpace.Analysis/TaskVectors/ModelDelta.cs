namespace WeightSpace.Analysis.TaskVectors;

/// <summary>One model's task vector Δ = θ − θ₀ over one tensor, a layer group or the whole model.</summary>
/// <param name="Norm">‖Δ‖₂ (Frobenius).</param>
/// <param name="RelativeChange">‖Δ‖/‖θ₀‖; +∞ when θ₀ is zero and Δ is not, 0 when both are.</param>
/// <param name="TopMassFractions">For each of <see cref="TaskVectorOptions.TopFractions"/>: Σ|Δ| of the top-f entries / Σ|Δ|
/// (0 when Δ = 0). Exact per tensor; for groups and the whole model from a histogram with bins 2^(1/8) wide (error below 1.1×).</param>
/// <param name="EffectiveRank">Roy &amp; Vetterli's effective rank exp(−Σpₖ ln pₖ), pₖ = σₖ/Σσ, for a 2-D tensor's Δ; null otherwise.</param>
/// <param name="TopSingularValues">Leading singular values of a 2-D tensor's Δ, descending; empty otherwise.</param>
public sealed record ModelDelta(double Norm, double RelativeChange, IReadOnlyList<double> TopMassFractions, double? EffectiveRank, IReadOnlyList<double> TopSingularValues);
