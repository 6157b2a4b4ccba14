using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Analysis.RankProfile;

/// <summary>Ranks read from one matrix's singular values: by spectral energy, numerically, and from the heavy-tailed
/// part of its spectrum.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Layer">Block index, or null.</param>
/// <param name="Role">Role from the tensor name (<c>q_proj</c> → Query …).</param>
/// <param name="Rows">Output features.</param>
/// <param name="Columns">Input features.</param>
/// <param name="SingularValues">All min(rows, columns) singular values, descending.</param>
/// <param name="Epsilon">Machine epsilon of the precision the singular values were computed in.</param>
public sealed record MatrixRanks(string Name, int? Layer, Naming.TensorRole Role, long Rows, long Columns, double[] SingularValues, double Epsilon)
{
    /// <summary>The energy fractions every profile reports.</summary>
    public static IReadOnlyList<double> StandardFractions { get; } = [0.90, 0.95, 0.99];

    /// <summary>min(rows, columns).</summary>
    public int FullRank => SingularValues.Length;

    /// <summary>Numerical rank, numpy's <c>matrix_rank</c> rule: the number of σᵢ &gt; σ₁ · max(rows, columns) · ε.</summary>
    public int NumericalRank => CountAbove(SingularValues, Tolerance);

    /// <summary>The numerical-rank tolerance σ₁ · max(rows, columns) · ε.</summary>
    public double Tolerance => SingularValues.Length == 0 ? 0 : SingularValues[0] * Math.Max(Rows, Columns) * Epsilon;

    /// <summary>The smallest k whose k largest singular values hold at least <paramref name="fraction"/> of the spectral
    /// energy Σσᵢ² (the squared Frobenius norm). Singular values at or below <see cref="Tolerance"/> are rounding noise and
    /// count as zero, so the rank at 100 % is <see cref="NumericalRank"/>; 0 for the zero matrix.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fraction"/> is not in (0, 1].</exception>
    public int RankAtEnergy(double fraction)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "must be in (0, 1]");
        int n = NumericalRank;
        double total = 0;
        for (int i = n - 1; i >= 0; i--) total += SingularValues[i] * SingularValues[i];   // small to large: least rounding
        if (total == 0) return 0;
        // Tail sums from the small end: the rank is the smallest k with Σ_{i≥k} σᵢ² ≤ (1 − fraction) · total.
        double allowed = (1 - fraction) * total, tail = 0;
        int k = n;
        while (k > 0 && tail + SingularValues[k - 1] * SingularValues[k - 1] <= allowed)
        {
            tail += SingularValues[k - 1] * SingularValues[k - 1];
            k--;
        }
        return k;
    }

    /// <summary>WeightWatcher's power-law fit (<see cref="PowerLawFit.FitWeightWatcher"/>) of the eigenvalues λᵢ = σᵢ²,
    /// or null when fewer than 10 non-zero eigenvalues (WeightWatcher's rule) or no fit.</summary>
    public PowerLawFitResult? TailFit
    {
        get
        {
            var lambdas = SingularValues.Take(NumericalRank).Select(s => s * s).ToArray();
            if (lambdas.Length < 10) return null;
            // The fit is scale-free except for WeightWatcher's 1e-5 floor; normalise to λ₁ = 1 so the floor is relative.
            double top = lambdas[0];
            for (int i = 0; i < lambdas.Length; i++) lambdas[i] /= top;
            var fit = PowerLawFit.FitWeightWatcher(lambdas);
            return fit is null ? null : fit with { Xmin = fit.Xmin * top, Xmax = fit.Xmax * top };
        }
    }

    /// <summary>The suggested rank: the number of eigenvalues σᵢ² in the power-law tail of the fit (σᵢ² ≥ x_min), the
    /// heavy-tailed part that carries the learned correlations (the bulk below x_min is close to random); the numerical
    /// rank when the spectrum is too short to fit.</summary>
    public int SuggestedRank => TailFit is { } fit ? fit.TailCount : NumericalRank;

    private static int CountAbove(double[] values, double threshold)
    {
        int n = 0;
        foreach (double v in values) if (v > threshold) n++;
        return n;
    }
}
