namespace WeightSpace.Analysis.Spectra;

/// <summary>A continuous power law p(x) ∝ x^−α fitted to the tail x ≥ <see cref="Xmin"/> of a sample.</summary>
/// <param name="Alpha">The maximum-likelihood exponent α.</param>
/// <param name="Xmin">Start of the tail, chosen by minimum KS distance.</param>
/// <param name="Xmax">Largest value kept (less than the sample maximum when fingers were clipped).</param>
/// <param name="KsDistance">Kolmogorov–Smirnov distance D between the tail and the fitted law.</param>
/// <param name="SigmaAlpha">Standard error (α − 1)/√n of α.</param>
/// <param name="TailCount">n, the number of values in [Xmin, Xmax].</param>
/// <param name="FingersClipped">How many of the largest values the fingers fix dropped (0 if it was off).</param>
public sealed record PowerLawFitResult(
    double Alpha, double Xmin, double Xmax, double KsDistance, double SigmaAlpha, int TailCount, int FingersClipped);
