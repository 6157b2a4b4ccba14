namespace WeightSpace.Analysis.Spectra;

/// <summary>How α and x_min are estimated (docs/spectra.md, "Power-law fit: two estimators").</summary>
public enum PowerLawEstimator
{
    /// <summary>WeightWatcher 0.7.5.5's <c>WWFit</c> (default): eigenvalues ≤ 1e-5 dropped, every sorted value but the
    /// largest a candidate (duplicates included), one-sided KS distance, first minimum wins.</summary>
    WeightWatcher,

    /// <summary>Clauset, Shalizi and Newman (2009): distinct candidates with a minimum tail, two-sided KS distance.</summary>
    Csn,
}
