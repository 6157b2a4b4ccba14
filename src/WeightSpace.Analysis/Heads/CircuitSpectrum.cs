namespace WeightSpace.Analysis.Heads;

/// <summary>The singular values of one head circuit (W_QK or W_OV) and the norms read from them.</summary>
/// <param name="SingularValues">All non-trivial singular values, descending (at most head_dim of them: the rest of the
/// d_model × d_model matrix's are exactly zero).</param>
public sealed record CircuitSpectrum(double[] SingularValues)
{
    /// <summary>Nuclear norm Σσᵢ.</summary>
    public double Nuclear => SingularValues.Sum();

    /// <summary>Spectral norm σ₁.</summary>
    public double Spectral => SingularValues.Length == 0 ? 0 : SingularValues[0];

    /// <summary>Frobenius norm √Σσᵢ².</summary>
    public double Frobenius => Math.Sqrt(SingularValues.Sum(s => s * s));

    /// <summary>Effective rank of Roy and Vetterli (2007, "The effective rank: a measure of effective dimensionality",
    /// EUSIPCO): exp(−Σ pᵢ ln pᵢ) with pᵢ = σᵢ / Σσⱼ (0 ln 0 = 0); 1 for a rank-one matrix, the rank when all non-zero
    /// σᵢ are equal, 0 for the zero matrix.</summary>
    public double EffectiveRank => EntropyEffectiveRank(SingularValues);

    /// <summary>Roy–Vetterli effective rank of any set of singular values (see <see cref="EffectiveRank"/>).</summary>
    public static double EntropyEffectiveRank(ReadOnlySpan<double> singularValues)
    {
        double total = 0;
        foreach (double s in singularValues) total += s;
        if (!(total > 0)) return 0;
        double entropy = 0;
        foreach (double s in singularValues)
        {
            if (s <= 0) continue;
            double p = s / total;
            entropy -= p * Math.Log(p);
        }
        return Math.Exp(entropy);
    }
}
