namespace WeightSpace.Analysis.Spectra;

/// <summary>The Marchenko–Pastur law of the eigenvalues of WᵀW for an N×M matrix W (N ≥ M) with i.i.d. entries of
/// variance σ², and a robust fit of its bulk (Marchenko and Pastur 1967).</summary>
/// <remarks>Unnormalised convention: λ = σ_i(W)², so the bulk is [σ²(√N − √M)², σ²(√N + √M)²]. Dividing every λ by N
/// (WeightWatcher's <c>normalize</c>) gives the textbook σ²(1 ± 1/√Q)² with Q = N/M; the fit is scale-equivariant and
/// then simply returns σ²/N.</remarks>
public static class MarchenkoPastur
{
    /// <summary>99% quantile of the Tracy–Widom law for β = 1 (Johnstone 2001, Table 1).</summary>
    public const double TracyWidom99 = 2.0234;

    /// <summary>The bulk edges σ²(√N ∓ √M)² for a <paramref name="rows"/>×<paramref name="cols"/> matrix (either order).</summary>
    public static (double LambdaMinus, double LambdaPlus) BulkEdges(double variance, long rows, long cols)
    {
        var (n, m) = Sides(rows, cols);
        double a = Math.Sqrt(n), b = Math.Sqrt(m);
        return (variance * (a - b) * (a - b), variance * (a + b) * (a + b));
    }

    /// <summary>The MP density of λ (unnormalised convention) for plots; 0 outside the bulk.</summary>
    /// <remarks>With x = λ/(Nσ²) and y = M/N: f(x) = √((x₊ − x)(x − x₋)) / (2π y x), x± = (1 ± √y)²; f_λ = f(x)/(Nσ²).</remarks>
    public static double Density(double lambda, double variance, long rows, long cols)
    {
        var (n, m) = Sides(rows, cols);
        double scale = n * variance, x = lambda / scale, y = m / n;
        double lo = (1 - Math.Sqrt(y)) * (1 - Math.Sqrt(y)), hi = (1 + Math.Sqrt(y)) * (1 + Math.Sqrt(y));
        if (!(x > lo && x < hi)) return 0;
        return Math.Sqrt((hi - x) * (x - lo)) / (2 * Math.PI * y * x) / scale;
    }

    /// <summary>Fits σ² to the bulk of <paramref name="eigenvalues"/> and counts the spikes above it.</summary>
    /// <param name="eigenvalues">The ESD: the M eigenvalues of each of <paramref name="matrixCount"/> matrices, any order.</param>
    /// <param name="rows">Rows of each matrix.</param>
    /// <param name="cols">Columns of each matrix.</param>
    /// <param name="matrixCount">Independent matrices pooled in the ESD (WeightWatcher's conv slices), default 1.</param>
    /// <param name="tracyWidomScales">Margin above the edge, in Tracy–Widom scales (default the 99% quantile).</param>
    /// <remarks>
    /// σ² by a trimmed trace: start from σ² = Σλ / (cNM); then repeatedly count the k eigenvalues above the spike
    /// threshold and set σ² = Σ_{λ ≤ threshold} λ / (c(NM − k(N + M))) until k no longer changes. The k(N + M) term
    /// is the noise energy each strong spike carries away: a rank-one signal of energy θ² becomes an eigenvalue
    /// θ² + σ²(N + M) + O(1/θ²) (Benaych-Georges and Nadakuditi 2012, §3.1, in our units), so without it the bulk is
    /// underestimated by kM/(NM). Spike threshold: σ²(μ + t·s) with μ = (√(N−1) + √M)², s = (√(N−1) + √M)(1/√(N−1) +
    /// 1/√M)^(1/3) (Johnstone 2001, Theorem 1.1).
    /// </remarks>
    /// <exception cref="ArgumentException">Fewer eigenvalues than one matrix side, or sides below 1.</exception>
    public static MarchenkoPasturFitResult Fit(ReadOnlySpan<double> eigenvalues, long rows, long cols, int matrixCount = 1,
        double tracyWidomScales = TracyWidom99)
    {
        if (rows < 1 || cols < 1 || matrixCount < 1) throw new ArgumentException($"Matrix {rows}×{cols} (×{matrixCount}) has no eigenvalues.");
        var (n, m) = Sides(rows, cols);
        double total = 0, lambdaMax = 0;
        foreach (double v in eigenvalues) { total += v; lambdaMax = Math.Max(lambdaMax, v); }
        double sqrtN1 = Math.Sqrt(Math.Max(n - 1, 1)), sqrtM = Math.Sqrt(m);
        double mu = (sqrtN1 + sqrtM) * (sqrtN1 + sqrtM);
        double scaleTw = (sqrtN1 + sqrtM) * Math.Cbrt(1 / sqrtN1 + 1 / sqrtM);
        double factor = mu + tracyWidomScales * scaleTw;

        double variance = total / (matrixCount * n * m);
        int spikes = -1;
        for (int iteration = 0; iteration < 100; iteration++)
        {
            double threshold = variance * factor;
            int k = 0;
            double bulk = 0;
            foreach (double v in eigenvalues)
            {
                if (v > threshold) k++;
                else bulk += v;
            }
            if (k == spikes) break;
            spikes = k;
            double dof = matrixCount * (n * m - (double)k / matrixCount * (n + m));
            if (!(dof > 0) || !(bulk > 0)) break;   // everything is a spike: keep the last estimate
            variance = bulk / dof;
        }
        var (lo, hi) = BulkEdges(variance, rows, cols);
        double spikeThreshold = variance * factor;
        int count = 0;
        foreach (double v in eigenvalues) if (v > spikeThreshold) count++;
        return new MarchenkoPasturFitResult(variance, lo, hi, spikeThreshold, count, lambdaMax > 0 ? hi / lambdaMax : double.NaN);
    }

    private static (double N, double M) Sides(long rows, long cols) => (Math.Max(rows, cols), Math.Min(rows, cols));
}
