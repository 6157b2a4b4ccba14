namespace WeightSpace.Analysis.Spectra;

/// <summary>A Marchenko–Pastur bulk fitted to an ESD, with the spikes above it.</summary>
/// <param name="Variance">σ²: the per-entry variance of an i.i.d. N×M matrix whose WᵀW has this bulk, in the ESD's
/// units (so it includes any eigenvalue scaling, e.g. ½ for WeightWatcher conv slices or 1/N when normalised).</param>
/// <param name="LambdaMinus">Lower bulk edge λ₋ = σ²(√N − √M)².</param>
/// <param name="LambdaPlus">Upper bulk edge λ₊ = σ²(√N + √M)².</param>
/// <param name="SpikeThreshold">Eigenvalues above this are spikes: σ²(μ_NM + t·s_NM), Johnstone's Tracy–Widom
/// centring and scale with t Tracy–Widom scales.</param>
/// <param name="NumSpikes">Eigenvalues above <see cref="SpikeThreshold"/>.</param>
/// <param name="SoftRank">MP soft rank λ₊ / λ_max.</param>
public sealed record MarchenkoPasturFitResult(
    double Variance, double LambdaMinus, double LambdaPlus, double SpikeThreshold, int NumSpikes, double SoftRank);
