namespace WeightSpace.Analysis.Spectra;

/// <summary>WeightWatcher's randomized ESD: shuffle a layer's entries, re-analyse, compare (Martin and Mahoney 2021,
/// "Implicit self-regularization in deep neural networks", §5 on correlation traps).</summary>
internal static class RandomizedComparison
{
    /// <summary>Shuffles every entry of the tensor (all slices together) with a generator seeded by the option's seed
    /// and the layer name, so the result does not depend on thread scheduling.</summary>
    public static LayerMatrix Shuffle(LayerMatrix matrix, string name)
    {
        var random = new Random(matrix.Options.Seed ^ StableHash(name));
        if (matrix.Single is not null)
        {
            var copy = (float[])matrix.Single.Clone();
            random.Shuffle(copy);
            return matrix.WithValues(copy, null);
        }
        var values = (double[])matrix.Double!.Clone();
        random.Shuffle(values);
        return matrix.WithValues(null, values);
    }

    /// <summary>Correlation traps and rand-distance of the real ESD against the shuffled singular values.</summary>
    public static RandomizedSpectrum Compare(double[] realEvals, ReadOnlySpan<double> shuffledSigma, LayerMatrix matrix,
        double scale, int matrixCount)
    {
        var options = matrix.Options;
        double[] evals = SpectralMetrics.Eigenvalues(shuffledSigma, scale);
        var mp = MarchenkoPastur.Fit(evals, matrix.N, matrix.M, matrixCount, options.TracyWidomScales);
        return new RandomizedSpectrum(evals.Length == 0 ? 0 : evals[^1], mp.LambdaPlus, mp.NumSpikes,
            JensenShannonDistance(realEvals, evals, options.HistogramBins), options.KeepEigenvalues ? evals : null);
    }

    /// <summary>√JSD (natural log) between histograms of log10 λ over a common range with <paramref name="bins"/>
    /// equal bins; non-positive λ are left out. JSD(P, Q) = ½KL(P‖M) + ½KL(Q‖M), M = (P + Q)/2 (Lin 1991).</summary>
    public static double? JensenShannonDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int bins)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (double v in a) if (v > 0) { double l = Math.Log10(v); lo = Math.Min(lo, l); hi = Math.Max(hi, l); }
        foreach (double v in b) if (v > 0) { double l = Math.Log10(v); lo = Math.Min(lo, l); hi = Math.Max(hi, l); }
        if (!double.IsFinite(lo)) return null;
        var p = Histogram(a, lo, hi, bins);
        var q = Histogram(b, lo, hi, bins);
        if (p is null || q is null) return null;
        double jsd = 0;
        for (int i = 0; i < bins; i++)
        {
            double mid = (p[i] + q[i]) / 2;
            if (p[i] > 0) jsd += 0.5 * p[i] * Math.Log(p[i] / mid);
            if (q[i] > 0) jsd += 0.5 * q[i] * Math.Log(q[i] / mid);
        }
        return Math.Sqrt(Math.Max(jsd, 0));
    }

    private static double[]? Histogram(ReadOnlySpan<double> values, double lo, double hi, int bins)
    {
        var h = new double[bins];
        double width = (hi - lo) / bins;
        int count = 0;
        foreach (double v in values)
        {
            if (!(v > 0)) continue;
            int bin = width > 0 ? (int)((Math.Log10(v) - lo) / width) : 0;
            h[Math.Clamp(bin, 0, bins - 1)]++;
            count++;
        }
        if (count == 0) return null;
        for (int i = 0; i < bins; i++) h[i] /= count;
        return h;
    }

    /// <summary>FNV-1a of the name: the same on every machine and run, unlike string.GetHashCode.</summary>
    internal static int StableHash(string text)
    {
        uint h = 2166136261;
        foreach (char c in text) { h ^= c; h *= 16777619; }
        return (int)h;
    }
}
