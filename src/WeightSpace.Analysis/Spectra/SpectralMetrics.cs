using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Spectra;

/// <summary>Turns singular values into the metrics of a <see cref="LayerSpectrum"/> (formulas: docs/spectra.md).</summary>
internal static class SpectralMetrics
{
    /// <summary>The ESD λ = scale·σ², ascending.</summary>
    public static double[] Eigenvalues(ReadOnlySpan<double> sigma, double scale)
    {
        var evals = new double[sigma.Length];
        TensorPrimitives.Multiply(sigma, sigma, evals);
        TensorPrimitives.Multiply(evals, scale, evals);
        Array.Sort(evals);
        return evals;
    }

    /// <summary>The eigenvalue scale of a matrix: WeightWatcher's conv factors and the optional 1/N.</summary>
    public static double Scale(LayerMatrix matrix, bool pooled)
    {
        double scale = 1;
        if (matrix.Kind != "dense" && matrix.Options.ConvMode == ConvSpectrumMode.WeightWatcher && matrix.Options.ConvEigenvalueScaling)
            scale = pooled ? 0.5 : matrix.KernelHeight * matrix.KernelWidth / 2.0;
        if (matrix.Options.NormalizeEigenvalues) scale /= matrix.N;
        return scale;
    }

    /// <summary>Every metric of one ESD made of the singular values <c>sigma</c> (any order) of <c>matrixCount</c>
    /// N×M matrices, λ = scale·σ².</summary>
    public static LayerSpectrum Build(string name, IReadOnlyList<long> shape, string kind, ReadOnlySpan<double> sigma,
        int matrixCount, long n, long m, double scale, double frobeniusNorm, SpectrumOptions options, RandomizedSpectrum? randomized,
        SpectralSolverKind solver = SpectralSolverKind.Svd)
    {
        double sigmaMax = sigma.Length == 0 ? 0 : TensorPrimitives.Max(sigma);
        double[] evals = Eigenvalues(sigma, scale);
        // Numerical rank threshold as numpy.linalg.matrix_rank: max(N, M)·ε·σ_max, here in λ units. The Gram path
        // cannot resolve eigenvalues below its own rounding floor M·ε·λ_max, so that is its threshold.
        double sigmaTol = n * options.MachineEpsilon * sigmaMax;
        double lambdaTol = solver == SpectralSolverKind.Gram
            ? m * options.MachineEpsilon * scale * sigmaMax * sigmaMax
            : scale * sigmaTol * sigmaTol;
        int firstNonZero = UpperBound(evals, lambdaTol);
        var positive = evals.AsSpan(firstNonZero);
        int rank = positive.Length;
        double sum = TensorPrimitives.Sum<double>(evals);
        double lambdaMax = evals.Length == 0 ? 0 : evals[^1];

        var result = new LayerSpectrum
        {
            Name = name, Shape = shape, Kind = kind, Status = LayerStatus.Ok,
            N = n, M = m, Q = (double)n / m, MatrixCount = matrixCount, NumEvals = evals.Length,
            FrobeniusNorm = Finite(frobeniusNorm), SigmaMax = sigmaMax, LambdaMax = lambdaMax,
            NumericalRank = rank,
            Eigenvalues = options.KeepEigenvalues ? evals : null,
            Randomized = randomized,
        };
        if (!(lambdaMax > 0))
            return result with { Reason = "all singular values are zero", StableRank = 0, EffectiveRank = 0, MatrixEntropy = 0 };

        var mp = MarchenkoPastur.Fit(evals, n, m, matrixCount, options.TracyWidomScales);
        int fingers = options.ClipFingers ? options.MaxFingers : 0;
        bool ww = options.Estimator == PowerLawEstimator.WeightWatcher;
        // WeightWatcher fits every layer with ≥ 10 eigenvalues (its MIN_NUM_EVALS) on the values above 1e-5.
        var fit = ww ? (evals.Length < WeightWatcherMinEvals ? null : PowerLawFit.FitWeightWatcher(evals, fingers))
                     : PowerLawFit.Fit(positive, options.MinTailCount, fingers);
        double? alpha = fit?.Alpha;
        string? warning = alpha is null ? null
            : alpha < options.OverTrainedAlpha ? "over-trained"
            : alpha > options.UnderTrainedAlpha ? "under-trained" : null;
        return result with
        {
            LogSpectralNorm = Finite(Math.Log10(lambdaMax)),
            LogNorm = Finite(Math.Log10(sum)),
            StableRank = sum / lambdaMax,
            EffectiveRank = EffectiveRank(positive),
            MatrixEntropy = MatrixEntropy(positive),
            Alpha = alpha,
            AlphaWeighted = alpha is null ? null : Finite(alpha.Value * Math.Log10(lambdaMax)),
            AlphaEstimator = alpha is null ? null : ww ? "ww" : "csn",
            LogAlphaNorm = alpha is null ? null : Finite(LogAlphaNorm(options.WeightWatcherCompat ? evals : positive, alpha.Value)),
            Xmin = fit?.Xmin,
            Xmax = fit?.Xmax,
            KsDistance = fit?.KsDistance,
            SigmaAlpha = fit?.SigmaAlpha,
            NumTailEvals = fit?.TailCount,
            NumPlSpikes = fit is null ? null : evals.Length - LowerBound(evals, fit.Xmin),
            FingersClipped = fit?.FingersClipped,
            MpVariance = Finite(mp.Variance),
            MpLambdaMinus = Finite(mp.LambdaMinus),
            MpLambdaPlus = Finite(mp.LambdaPlus),
            MpSoftRank = Finite(mp.SoftRank),
            NumSpikes = options.WeightWatcherCompat ? evals.Length - UpperBound(evals, mp.LambdaPlus) : mp.NumSpikes,
            Warning = warning,
        };
    }

    /// <summary>Roy and Vetterli (2007), "The effective rank", eq. (3)–(4): exp(−Σ p_k ln p_k), p_k = σ_k/Σσ, with
    /// σ_k = √λ_k (the scale cancels).</summary>
    public static double EffectiveRank(ReadOnlySpan<double> positiveEvals)
    {
        if (positiveEvals.Length == 0) return 0;
        var p = new double[positiveEvals.Length];
        TensorPrimitives.Sqrt(positiveEvals, p);
        return Math.Exp(Entropy(p));
    }

    /// <summary>WeightWatcher's matrix entropy: the Shannon entropy of p = λ/Σλ over the numerically non-zero λ,
    /// divided by its maximum ln(rank); 0 for rank ≤ 1.</summary>
    public static double MatrixEntropy(ReadOnlySpan<double> positiveEvals)
    {
        if (positiveEvals.Length <= 1) return 0;
        var p = positiveEvals.ToArray();
        return Entropy(p) / Math.Log(p.Length);
    }

    /// <summary>log10 Σ λ^α, summed in log space so large λ and α cannot overflow.</summary>
    public static double LogAlphaNorm(ReadOnlySpan<double> positiveEvals, double alpha)
    {
        var t = new double[positiveEvals.Length];
        TensorPrimitives.Log(positiveEvals, t);
        TensorPrimitives.Multiply(t, alpha, t);
        double max = TensorPrimitives.Max<double>(t);
        TensorPrimitives.Subtract(t, max, t);
        TensorPrimitives.Exp(t, t);
        return (max + Math.Log(TensorPrimitives.Sum<double>(t))) / Math.Log(10);
    }

    /// <summary>Shannon entropy (nats) of the weights <paramref name="w"/> normalised to sum 1; overwrites w.</summary>
    private static double Entropy(double[] w)
    {
        double total = TensorPrimitives.Sum<double>(w);
        TensorPrimitives.Divide(w, total, w);
        var logs = new double[w.Length];
        TensorPrimitives.Log(w, logs);
        return -TensorPrimitives.Dot<double>(w, logs);
    }

    /// <summary>WeightWatcher's <c>MIN_NUM_EVALS</c>: layers with fewer eigenvalues get no power-law fit.</summary>
    public const int WeightWatcherMinEvals = 10;

    /// <summary>First index whose value is ≥ <paramref name="threshold"/> in an ascending array.</summary>
    internal static int LowerBound(double[] sorted, double threshold)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < threshold) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    internal static double? Finite(double x) => double.IsFinite(x) ? x : null;

    /// <summary>First index whose value exceeds <paramref name="threshold"/> in an ascending array.</summary>
    internal static int UpperBound(double[] sorted, double threshold)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= threshold) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
