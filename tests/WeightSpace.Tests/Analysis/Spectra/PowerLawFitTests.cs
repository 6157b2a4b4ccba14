using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

public sealed class PowerLawFitTests
{
    // The MLE's own standard error at n = 5000 is (α − 1)/√n: 0.057 for α = 5, so no estimator can promise ±0.05 on
    // one sample. The mean of 16 independent seeded samples has a standard error 4× smaller; each single estimate must
    // also lie within 4 of its own reported σ_α.
    [Theory]
    [InlineData(1.5)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    [InlineData(4.0)]
    [InlineData(5.0)]
    public void ParetoSamples_AlphaRecovered(double alpha)
    {
        const int samples = 16;
        double sum = 0;
        for (int seed = 0; seed < samples; seed++)
        {
            var x = SpectraFixtures.Pareto(5000, alpha, xmin: 1.0, seed: 1000 * seed + (int)(alpha * 10));
            var fit = PowerLawFit.Fit(x)!;
            Assert.InRange(fit.Alpha, alpha - 4 * fit.SigmaAlpha, alpha + 4 * fit.SigmaAlpha);
            sum += fit.Alpha;
        }
        Assert.InRange(sum / samples, alpha - 0.05, alpha + 0.05);
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(3.0)]
    [InlineData(5.0)]
    public void FitWithTrueXmin_WithinThreeSigma(double alpha)
    {
        var x = SpectraFixtures.Pareto(5000, alpha, xmin: 2.0, seed: 7);
        var fit = PowerLawFit.FitWithXmin(x, 2.0)!;
        Assert.Equal(5000, fit.TailCount);
        Assert.InRange(fit.Alpha, alpha - 3 * fit.SigmaAlpha, alpha + 3 * fit.SigmaAlpha);
    }

    [Fact]
    public void FitWithXmin_HandComputed()
    {
        // x = 1, e, e²: Σ ln(x/1) = 0 + 1 + 2 = 3, α = 1 + 3/3 = 2.
        var fit = PowerLawFit.FitWithXmin([1.0, Math.E, Math.E * Math.E], 1.0)!;
        Assert.Equal(2.0, fit.Alpha, 12);
        Assert.Equal(1 / Math.Sqrt(3), fit.SigmaAlpha, 12);
        // F(x) = 1 − 1/x; steps at 1/3, 2/3, 1: gaps max(|1/3 − 0|, |2/3 − (1 − 1/e)|, |1 − (1 − 1/e²)|, …).
        double expected = new[] { 1.0 / 3, Math.Abs(1.0 / 3 - (1 - 1 / Math.E)), Math.Abs(2.0 / 3 - (1 - 1 / Math.E)),
            Math.Abs(2.0 / 3 - (1 - Math.Exp(-2))), Math.Exp(-2) }.Max();
        Assert.Equal(expected, fit.KsDistance, 12);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 4)]
    [InlineData(4, 0)]
    public void FastSearch_EqualsNaiveQuadraticReference(int seed, int fingers)
    {
        var random = new Random(seed);
        // Log-normal bulk plus a Pareto tail and a few ties: a realistic, awkward ESD.
        var x = new double[600];
        for (int i = 0; i < 400; i++) x[i] = Math.Exp(SpectraFixtures.Normal(random));
        for (int i = 400; i < 590; i++) x[i] = 3 * Math.Pow(1 - random.NextDouble(), -1 / 1.7);
        for (int i = 590; i < 600; i++) x[i] = x[i - 50];

        var fast = PowerLawFit.Fit(x, minTailCount: 10, maxFingers: fingers)!;
        var (alpha, xmin, d, k) = NaiveFit(x, 10, fingers);

        Assert.Equal(xmin, fast.Xmin);
        Assert.Equal(k, fast.FingersClipped);
        Assert.Equal(alpha, fast.Alpha, 10);
        Assert.Equal(d, fast.KsDistance, 10);
    }

    /// <summary>Textbook CSN: for each distinct x_min, α by explicit sum and D by explicit scan of every tail point.</summary>
    private static (double Alpha, double Xmin, double D, int Fingers) NaiveFit(double[] data, int minTail, int maxFingers)
    {
        var best = (Alpha: double.NaN, Xmin: double.NaN, D: double.PositiveInfinity, Fingers: -1);
        var all = data.Order().ToArray();
        for (int k = 0; k <= maxFingers; k++)
        {
            var x = all[..^k];
            for (int i = 0; i + minTail <= x.Length; i++)
            {
                if (i > 0 && x[i] == x[i - 1]) continue;
                int n = x.Length - i;
                double s = 0;
                for (int j = i; j < x.Length; j++) s += Math.Log(x[j] / x[i]);
                if (s <= 0) continue;
                double a = 1 + n / s, d = 0;
                for (int j = 0; j < n; j++)
                {
                    double f = 1 - Math.Pow(x[i + j] / x[i], 1 - a);
                    d = Math.Max(d, Math.Max(Math.Abs((j + 1.0) / n - f), Math.Abs((double)j / n - f)));
                }
                if (d < best.D) best = (a, x[i], d, k);
            }
        }
        return best;
    }
}
