namespace WeightSpace.Analysis.Spectra;

/// <summary>Floating-point type the singular value decomposition runs in. Half precision is never used.</summary>
public enum SpectrumPrecision
{
    /// <summary>IEEE binary32: fast; small singular values below about 1e-7·σ_max are noise.</summary>
    Float32,
    /// <summary>IEEE binary64: about twice as slow, exact to about 1e-16·σ_max.</summary>
    Float64,
}
