namespace WeightSpace.Analysis.Connectivity;

/// <summary>Barrier heights of a curve sampled along θ(α) = (1−α)θ_A + αθ_B.</summary>
/// <remarks>Frankle et al., "Linear Mode Connectivity and the Lottery Ticket Hypothesis", ICML 2020, and Git Re-Basin
/// (Ainsworth et al., ICLR 2023, eq. 1): barrier = max_α [L(θ(α)) − ((1−α)L(θ_A) + αL(θ_B))]. For accuracy, where
/// higher is better, pass the negated accuracies (or use <see cref="AccuracyMaximum"/>).</remarks>
public static class ConnectivityBarrier
{
    /// <summary>max over the samples of value(α) − ((1−α)·value(0) + α·value(1)); 0 at the endpoints, so never negative.</summary>
    /// <param name="alphas">Increasing, from exactly 0 to exactly 1.</param>
    /// <param name="values">One value per alpha.</param>
    /// <exception cref="ArgumentException">Lengths differ, fewer than 2 points, or the alphas do not run from 0 to 1.</exception>
    public static double Maximum(ReadOnlySpan<double> alphas, ReadOnlySpan<double> values)
    {
        Check(alphas, values);
        double v0 = values[0], v1 = values[^1], best = double.NegativeInfinity;
        for (int i = 0; i < alphas.Length; i++)
            best = Math.Max(best, values[i] - ((1 - alphas[i]) * v0 + alphas[i] * v1));
        return best;
    }

    /// <summary>The midpoint-only barrier value(0.5) − (value(0) + value(1))/2.</summary>
    /// <exception cref="ArgumentException">As <see cref="Maximum"/>, or 0.5 is not among the alphas.</exception>
    public static double Midpoint(ReadOnlySpan<double> alphas, ReadOnlySpan<double> values)
    {
        Check(alphas, values);
        int mid = alphas.IndexOf(0.5);
        if (mid < 0) throw new ArgumentException("α = 0.5 is not among the sampled alphas.", nameof(alphas));
        return values[mid] - 0.5 * (values[0] + values[^1]);
    }

    /// <summary>The accuracy barrier: max over the samples of ((1−α)·acc(0) + α·acc(1)) − acc(α), the largest drop below the chord.</summary>
    public static double AccuracyMaximum(ReadOnlySpan<double> alphas, ReadOnlySpan<double> accuracy) => Maximum(alphas, Negate(accuracy));

    /// <summary>The midpoint accuracy drop (acc(0) + acc(1))/2 − acc(0.5).</summary>
    public static double AccuracyMidpoint(ReadOnlySpan<double> alphas, ReadOnlySpan<double> accuracy) => Midpoint(alphas, Negate(accuracy));

    private static double[] Negate(ReadOnlySpan<double> values)
    {
        var result = new double[values.Length];
        System.Numerics.Tensors.TensorPrimitives.Negate(values, result);
        return result;
    }

    private static void Check(ReadOnlySpan<double> alphas, ReadOnlySpan<double> values)
    {
        if (alphas.Length != values.Length) throw new ArgumentException($"{alphas.Length} alphas but {values.Length} values.", nameof(values));
        if (alphas.Length < 2 || alphas[0] != 0 || alphas[^1] != 1)
            throw new ArgumentException("The alphas must run from exactly 0 to exactly 1 with at least 2 points.", nameof(alphas));
    }
}
