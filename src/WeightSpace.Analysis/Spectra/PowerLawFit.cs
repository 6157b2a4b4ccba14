using System.Buffers;
using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Spectra;

/// <summary>Fits a continuous power law to the upper tail of a sample, as Clauset, Shalizi and Newman (2009) do
/// (<see href="https://arxiv.org/abs/0706.1062"/>).</summary>
/// <remarks>
/// For each candidate x_min (every distinct value leaving at least <c>minTailCount</c> values above it) α comes from the
/// MLE in O(1) through suffix sums of ln x, and its KS distance in O(tail) by one vectorised pass that stops as soon as
/// the candidate can no longer beat the best one. Sorting is O(n log n); the worst case of the search is O(n²)
/// element operations (about 8·10⁶ exp for n = 4096), in practice far less because most candidates stop in their first
/// block.
/// </remarks>
public static class PowerLawFit
{
    private const int Block = 256;

    /// <summary>Fits α, choosing x_min by minimum KS distance, optionally with the "fingers" fix.</summary>
    /// <param name="values">The sample; values that are not finite and positive are ignored.</param>
    /// <param name="minTailCount">Fewest values a tail may have (≥ 2).</param>
    /// <param name="maxFingers">The fingers fix (WeightWatcher's <c>clip_xmax</c>, as defined here): refit with the k
    /// largest values dropped for every k in 0..maxFingers and keep the k with the smallest KS distance (ties: the
    /// smaller k). 0 turns it off.</param>
    /// <returns>The fit, or null when fewer than <paramref name="minTailCount"/> usable values remain.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minTailCount"/> &lt; 2 or <paramref name="maxFingers"/> &lt; 0.</exception>
    public static PowerLawFitResult? Fit(ReadOnlySpan<double> values, int minTailCount = 10, int maxFingers = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minTailCount, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFingers);
        double[] sorted = SortedPositive(values);
        double[] logs = Logs(sorted);
        PowerLawFitResult? best = null;
        for (int k = 0; k <= maxFingers && sorted.Length - k >= minTailCount; k++)
        {
            var fit = SearchXmin(sorted.AsSpan(0, sorted.Length - k), logs.AsSpan(0, sorted.Length - k), minTailCount, k, weightWatcher: false);
            if (fit is not null && (best is null || fit.KsDistance < best.KsDistance)) best = fit;
        }
        return best;
    }

    /// <summary>Eigenvalues at or below this are dropped before WeightWatcher's fit (its <c>EVALS_THRESH</c>).</summary>
    public const double WeightWatcherThreshold = 1e-5;

    /// <summary>WeightWatcher 0.7.5.5's estimator (<c>WWFit</c> in <c>WW_powerlaw.py</c>), reproduced exactly.</summary>
    /// <remarks>
    /// Values ≤ <see cref="WeightWatcherThreshold"/> (and non-finite ones) are dropped and the rest sorted ascending,
    /// x_0 ≤ … ≤ x_{N−1}. Every x_i with i &lt; N − 1 is a candidate, duplicates included, so a tail may hold as few as
    /// 2 values. For candidate i, with n = N − i: α_i = 1 + n / Σ_{j≥i} ln(x_j/x_i) and
    /// D_i = max_{k=0…n−1} |1 − (x_{i+k}/x_i)^(1−α_i) − k/n| (one side of the empirical CDF only), D_i = 1 when
    /// α_i ≤ 1. The first i with the smallest D wins (numpy's argmin). The caller applies WeightWatcher's rule that a
    /// layer with fewer than 10 eigenvalues is not fitted.
    /// </remarks>
    /// <param name="values">The ESD, any order.</param>
    /// <param name="maxFingers">As in <see cref="Fit"/>: refit with the k largest values dropped, k = 0…maxFingers,
    /// keep the smallest D (ties: smaller k). 0 (default, as WeightWatcher) turns it off.</param>
    /// <returns>The fit, or null when fewer than 2 values exceed the threshold.</returns>
    public static PowerLawFitResult? FitWeightWatcher(ReadOnlySpan<double> values, int maxFingers = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFingers);
        double[] sorted = SortedAbove(values, WeightWatcherThreshold);
        double[] logs = Logs(sorted);
        PowerLawFitResult? best = null;
        for (int k = 0; k <= maxFingers && sorted.Length - k >= 2; k++)
        {
            var fit = SearchXmin(sorted.AsSpan(0, sorted.Length - k), logs.AsSpan(0, sorted.Length - k), 2, k, weightWatcher: true);
            if (fit is not null && (best is null || fit.KsDistance < best.KsDistance)) best = fit;
        }
        return best;
    }

    /// <summary>WWFit's D = max_k |1 − e_k − k/n| with e_k = (x_k/x_min)^(1−α); returns early with a value ≥
    /// <paramref name="stopAtOrAbove"/> once D reaches it (a tie cannot win: the first minimum is kept).</summary>
    /// <remarks>With g_k = e_k + k/n, |1 − g_k| is at most max(max g − 1, 1 − min g): the two-sided distance of
    /// <see cref="KsDistance"/> without its 1/n step.</remarks>
    internal static double OneSidedKsDistance(ReadOnlySpan<double> tailLogs, double logXmin, double alpha, double stopAtOrAbove) =>
        Distance(tailLogs, logXmin, alpha, stopAtOrAbove, upperStep: 0);

    /// <summary>The α = +∞ case of <see cref="OneSidedKsDistance"/>: (x/x_min)^(−∞) is 1 at x = x_min and 0 above.</summary>
    private static double OneSidedKsInfiniteAlpha(ReadOnlySpan<double> tail, double xmin)
    {
        double d = 0, invN = 1.0 / tail.Length;
        for (int k = 0; k < tail.Length; k++) d = Math.Max(d, Math.Abs((tail[k] == xmin ? 0 : 1) - k * invN));
        return d;
    }

    /// <summary>The MLE of α for the tail x ≥ <paramref name="xmin"/> with x_min given (CSN 2009, eq. 3.1):
    /// α = 1 + n / Σ ln(x_i / x_min).</summary>
    /// <returns>The fit, or null when fewer than 2 values are ≥ x_min or all equal it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="xmin"/> is not finite and positive.</exception>
    public static PowerLawFitResult? FitWithXmin(ReadOnlySpan<double> values, double xmin)
    {
        if (!(xmin > 0) || !double.IsFinite(xmin)) throw new ArgumentOutOfRangeException(nameof(xmin), xmin, "x_min must be finite and positive.");
        double[] sorted = SortedPositive(values);
        int start = LowerBound(sorted, xmin);
        int n = sorted.Length - start;
        if (n < 2) return null;
        double[] logs = Logs(sorted);
        double sum = TensorPrimitives.Sum<double>(logs.AsSpan(start)) - n * Math.Log(xmin);
        if (!(sum > 0)) return null;
        double alpha = 1 + n / sum;
        double d = KsDistance(logs.AsSpan(start), Math.Log(xmin), alpha, double.PositiveInfinity);
        return new PowerLawFitResult(alpha, xmin, sorted[^1], d, (alpha - 1) / Math.Sqrt(n), n, 0);
    }

    /// <summary>Search over x_min on an ascending sample, the core of <see cref="Fit"/> and of
    /// <see cref="FitWeightWatcher"/>: every tail of at least <paramref name="minTailCount"/> values is a candidate, scored
    /// by its MLE α and KS distance; the smallest distance wins (the first on ties).</summary>
    /// <remarks>With <paramref name="weightWatcher"/>, WWFit's rules: every index starts a tail (repeated values too), an all-equal tail
    /// gets α = +∞ as numpy does rather than being skipped, and D is the one-sided distance
    /// (<see cref="OneSidedKsDistance"/>). Otherwise powerlaw's: a tail holds every value ≥ its x_min, all-equal tails
    /// are skipped, D is <see cref="KsDistance"/>.</remarks>
    private static PowerLawFitResult? SearchXmin(ReadOnlySpan<double> x, ReadOnlySpan<double> logs, int minTailCount, int fingers, bool weightWatcher)
    {
        int n = x.Length;
        // suffix[i] = Σ_{j≥i} ln x_j, so the MLE for every candidate is O(1).
        double[] suffix = ArrayPool<double>.Shared.Rent(n + 1);
        try
        {
            suffix[n] = 0;
            for (int i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + logs[i];
            double bestD = double.PositiveInfinity, bestAlpha = double.NaN;
            int bestStart = -1;
            for (int i = 0; i <= n - minTailCount; i++)
            {
                int tail = n - i;
                double denominator = suffix[i] - tail * logs[i];
                double alpha = 1 + tail / denominator;
                double d;
                if (weightWatcher)
                {
                    d = !(alpha > 1) ? 1
                        : double.IsPositiveInfinity(alpha) ? OneSidedKsInfiniteAlpha(x[i..], x[i])
                        : OneSidedKsDistance(logs[i..], logs[i], alpha, bestD);
                }
                else
                {
                    if (i > 0 && x[i] == x[i - 1]) continue;   // a tail must hold every value ≥ its x_min
                    if (!(denominator > 0)) continue;          // all tail values equal: no power law
                    d = KsDistance(logs[i..], logs[i], alpha, bestD);
                }
                if (d < bestD || (weightWatcher && bestStart < 0)) { bestD = d; bestAlpha = alpha; bestStart = i; }
            }
            if (bestStart < 0) return null;
            int count = n - bestStart;
            return new PowerLawFitResult(bestAlpha, x[bestStart], x[n - 1], bestD, (bestAlpha - 1) / Math.Sqrt(count), count, fingers);
        }
        finally { ArrayPool<double>.Shared.Return(suffix, clearArray: true); }
    }

    /// <summary>KS distance between the empirical CDF of an ascending tail (given as ln x) and the fitted
    /// F(x) = 1 − (x/x_min)^(1−α); returns early with a value ≥ <paramref name="stopAbove"/> once D reaches it.</summary>
    /// <remarks>With e_k = (x_k/x_min)^(1−α) and g_k = e_k + k/n, the gaps on both sides of step k are
    /// (k+1)/n − F(x_k) = g_k + 1/n − 1 and F(x_k) − k/n = 1 − g_k, so D = max(max g + 1/n − 1, 1 − min g).</remarks>
    internal static double KsDistance(ReadOnlySpan<double> tailLogs, double logXmin, double alpha, double stopAbove) =>
        Distance(tailLogs, logXmin, alpha, stopAbove, upperStep: 1.0 / tailLogs.Length);

    /// <summary>max(max g + <paramref name="upperStep"/> − 1, 1 − min g) over g_k = (x_k/x_min)^(1−α) + k/n, a block
    /// at a time, stopping once it reaches <paramref name="stop"/>.</summary>
    private static double Distance(ReadOnlySpan<double> tailLogs, double logXmin, double alpha, double stop, double upperStep)
    {
        int n = tailLogs.Length;
        double invN = 1.0 / n;
        Span<double> g = stackalloc double[Block];
        Span<double> ramp = stackalloc double[Block];
        double d = 0;
        for (int start = 0; start < n; start += Block)
        {
            int len = Math.Min(Block, n - start);
            var gs = g[..len];
            var rs = ramp[..len];
            for (int j = 0; j < len; j++) rs[j] = start + j;
            TensorPrimitives.Subtract(tailLogs.Slice(start, len), logXmin, gs);
            TensorPrimitives.Multiply(gs, 1 - alpha, gs);
            TensorPrimitives.Exp(gs, gs);
            TensorPrimitives.MultiplyAdd(rs, invN, gs, gs);
            d = Math.Max(d, Math.Max(TensorPrimitives.Max(gs) + upperStep - 1, 1 - TensorPrimitives.Min(gs)));
            if (d >= stop) return d;
        }
        return d;
    }

    private static double[] SortedPositive(ReadOnlySpan<double> values) => SortedAbove(values, 0);

    /// <summary>The finite values above <paramref name="threshold"/>, ascending.</summary>
    private static double[] SortedAbove(ReadOnlySpan<double> values, double threshold)
    {
        int count = 0;
        foreach (double v in values) if (v > threshold && double.IsFinite(v)) count++;
        var result = new double[count];
        int k = 0;
        foreach (double v in values) if (v > threshold && double.IsFinite(v)) result[k++] = v;
        Array.Sort(result);
        return result;
    }

    private static double[] Logs(double[] sorted)
    {
        var logs = new double[sorted.Length];
        TensorPrimitives.Log(sorted, logs);
        return logs;
    }

    private static int LowerBound(double[] sorted, double value)
    {
        int i = Array.BinarySearch(sorted, value);
        if (i < 0) return ~i;
        while (i > 0 && sorted[i - 1] == value) i--;
        return i;
    }
}
