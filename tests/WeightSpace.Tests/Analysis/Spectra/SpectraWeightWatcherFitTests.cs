using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

/// <summary>WeightWatcher 0.7.5.5's estimator (WWFit) against a scalar transcription of its definition, on hand-made
/// eigenvalue lists where it and the CSN search choose different x_min.</summary>
public sealed class SpectraWeightWatcherFitTests
{
    // x_min and tail sizes below were worked out from the definitions (issue 17) with a separate plain-Python script.
    public static TheoryData<double[], double, int, double, int> Cases => new()
    {
        // WW's tail of 9 is below CSN's minimum tail of 10: CSN must start at 1.0.
        { [0.5, 0.7, 1, 1.2, 1.5, 2, 2.4, 3, 4, 5, 20, 21], 1.2, 9, 1.0, 10 },
        // Duplicates: WW may start at a later copy of 2 or anywhere up to a tail of 2; it picks 8 (tail 4).
        { [1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12], 8, 4, 2, 12 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightWatcherAndCsn_PickDifferentXmin_AsTheDefinitionsSay(double[] evals, double wwXmin, int wwTail, double csnXmin, int csnTail)
    {
        var ww = PowerLawFit.FitWeightWatcher(evals)!;
        var (alpha, xmin, d, tail) = NaiveWeightWatcher(evals);
        Assert.Equal(wwXmin, ww.Xmin);
        Assert.Equal(xmin, ww.Xmin);
        Assert.Equal(wwTail, ww.TailCount);
        Assert.Equal(tail, ww.TailCount);
        Assert.Equal(alpha, ww.Alpha, 12);
        Assert.Equal(d, ww.KsDistance, 12);
        Assert.Equal((alpha - 1) / Math.Sqrt(tail), ww.SigmaAlpha, 12);

        var csn = PowerLawFit.Fit(evals, minTailCount: 10)!;
        Assert.Equal(csnXmin, csn.Xmin);
        Assert.Equal(csnTail, csn.TailCount);
    }

    [Fact]
    public void HandComputed_FirstCase()
    {
        // x_min = 1.2, n = 9: α = 1 + 9 / Σ ln(x/1.2) over {1.2, 1.5, 2, 2.4, 3, 4, 5, 20, 21}.
        double[] tail = [1.2, 1.5, 2, 2.4, 3, 4, 5, 20, 21];
        double expectedAlpha = 1 + 9 / tail.Sum(x => Math.Log(x / 1.2));
        var fit = PowerLawFit.FitWeightWatcher([0.5, 0.7, 1, 1.2, 1.5, 2, 2.4, 3, 4, 5, 20, 21])!;
        Assert.Equal(expectedAlpha, fit.Alpha, 12);
        Assert.Equal(1.8450618651793036, fit.Alpha, 12);
        Assert.Equal(0.12944054550195472, fit.KsDistance, 12);
        Assert.Equal(21, fit.Xmax);
    }

    [Fact]
    public void SmallValuesDropped_AndALaterDuplicateCanBeXmin()
    {
        // 3e-6 ≤ 1e-5 is dropped. WW picks the second of the three 3s (tail 7, D = 0.1712…), which no CSN candidate
        // can be; WW's num_pl_spikes counts every eigenvalue ≥ x_min, so 8.
        double[] evals = [3e-6, 1, 1.5, 2, 3, 3, 3, 3.5, 5, 8, 13, 21];
        var fit = PowerLawFit.FitWeightWatcher(evals)!;
        var (alpha, _, d, _) = NaiveWeightWatcher(evals);
        Assert.Equal(3, fit.Xmin);
        Assert.Equal(7, fit.TailCount);
        Assert.Equal(alpha, fit.Alpha, 12);
        Assert.Equal(0.17124266552745593, fit.KsDistance, 12);
        Assert.Equal(d, fit.KsDistance, 12);

        var layer = SpectrumAnalyzer.AnalyzeMatrix("diag", Diagonal(evals), evals.Length, evals.Length,
            new SpectrumOptions { Precision = SpectrumPrecision.Float64, Solver = SpectralSolverKind.Svd });
        Assert.Equal("ww", layer.AlphaEstimator);
        // The diagonal is stored in float32 (√λ rounded), so layer-level values agree to ~1e-7 relative.
        Assert.Equal(alpha, layer.Alpha!.Value, 5);
        Assert.Equal(3, layer.Xmin!.Value, 5);
        Assert.Equal(8, layer.NumPlSpikes);
        Assert.Equal(7, layer.NumTailEvals);
        Assert.Equal(alpha * Math.Log10(21), layer.AlphaWeighted!.Value, 5);
        Assert.Equal(evals.Sum() / 21, layer.StableRank!.Value, 5);
        Assert.Equal(Math.Log10(evals.Sum()), layer.LogNorm!.Value, 5);
        Assert.Equal(Math.Log10(evals.Sum(x => Math.Pow(x, alpha))), layer.LogAlphaNorm!.Value, 4);
        // WW counts spikes as the eigenvalues above λ₊ with no Tracy–Widom margin.
        Assert.Equal(evals.Count(x => x > layer.MpLambdaPlus!.Value), layer.NumSpikes);
    }

    [Fact]
    public void TwoPointTail_AndFewerThanTenEigenvaluesAreNotFitted()
    {
        // A sorted tail has Σ ln(x/x_min) ≥ 0, so α ≤ 1 (D = 1) arises only from rounding; the smallest legal tail is 2.
        var two = PowerLawFit.FitWeightWatcher([1.0, Math.E])!;
        Assert.Equal(1, two.Xmin);
        Assert.Equal(3, two.Alpha, 12);                      // 1 + 2 / (0 + 1)
        Assert.Equal(NaiveWeightWatcher([1.0, Math.E]).D, two.KsDistance, 12);
        Assert.Null(PowerLawFit.FitWeightWatcher([1.0, 2e-6]));

        double[] nine = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var layer = SpectrumAnalyzer.AnalyzeMatrix("nine", Diagonal(nine), 9, 9, new SpectrumOptions { MinDimension = 1 });
        Assert.Null(layer.Alpha);
        Assert.Null(layer.AlphaEstimator);
    }

    [Fact]
    public void CsnEstimator_IsLabelled()
    {
        double[] evals = [0.5, 0.7, 1, 1.2, 1.5, 2, 2.4, 3, 4, 5, 20, 21];
        var layer = SpectrumAnalyzer.AnalyzeMatrix("diag", Diagonal(evals), 12, 12,
            new SpectrumOptions { Estimator = PowerLawEstimator.Csn, Precision = SpectrumPrecision.Float64, Solver = SpectralSolverKind.Svd });
        Assert.Equal("csn", layer.AlphaEstimator);
        Assert.Equal(1.0, layer.Xmin!.Value, 5);
    }

    /// <summary>WWFit transcribed literally: drop ≤ 1e-5, sort, every value but the last a candidate, explicit sums,
    /// D = max |1 − (x/x_min)^(1−α) − k/n| or 1 when α ≤ 1, first minimum.</summary>
    private static (double Alpha, double Xmin, double D, int Tail) NaiveWeightWatcher(double[] data)
    {
        var x = data.Where(v => v > 1e-5).Order().ToArray();
        var best = (Alpha: double.NaN, Xmin: double.NaN, D: double.PositiveInfinity, Tail: 0);
        for (int i = 0; i < x.Length - 1; i++)
        {
            int n = x.Length - i;
            double s = 0;
            for (int j = i; j < x.Length; j++) s += Math.Log(x[j]) - Math.Log(x[i]);
            double a = 1 + n / s, d = 1;
            if (a > 1)
            {
                d = 0;
                for (int k = 0; k < n; k++) d = Math.Max(d, Math.Abs(1 - Math.Pow(x[i + k] / x[i], 1 - a) - (double)k / n));
            }
            if (d < best.D) best = (a, x[i], d, n);
        }
        return best;
    }

    private static float[] Diagonal(double[] evals)
    {
        int n = evals.Length;
        var w = new float[n * n];
        for (int i = 0; i < n; i++) w[i * n + i] = (float)Math.Sqrt(evals[i]);
        return w;
    }
}
