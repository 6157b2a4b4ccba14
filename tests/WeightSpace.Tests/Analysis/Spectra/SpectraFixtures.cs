using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

/// <summary>Seeded test matrices, generated here (not by the code under test).</summary>
internal static class SpectraFixtures
{
    /// <summary>Standard normal entries, row-major, by Box–Muller over a seeded System.Random.</summary>
    public static float[] Gaussian(int rows, int cols, int seed, double std = 1)
    {
        var random = new Random(seed);
        var w = new float[rows * cols];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(std * Normal(random));
        return w;
    }

    public static double Normal(Random random)
    {
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A unit vector with Gaussian direction.</summary>
    public static double[] UnitVector(int n, Random random)
    {
        var v = new double[n];
        double norm = 0;
        for (int i = 0; i < n; i++) { v[i] = Normal(random); norm += v[i] * v[i]; }
        norm = Math.Sqrt(norm);
        for (int i = 0; i < n; i++) v[i] /= norm;
        return v;
    }

    /// <summary>Adds θ·u·vᵀ to a row-major matrix.</summary>
    public static void AddRankOne(float[] w, int rows, int cols, double theta, double[] u, double[] v)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                w[r * cols + c] += (float)(theta * u[r] * v[c]);
    }

    /// <summary>Pareto samples with density ∝ x^−α on [xmin, ∞), by inverse CDF x = xmin·u^(−1/(α−1)).</summary>
    public static double[] Pareto(int n, double alpha, double xmin, int seed)
    {
        var random = new Random(seed);
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = xmin * Math.Pow(1 - random.NextDouble(), -1 / (alpha - 1));
        return x;
    }

    public static SpectrumOptions Float64 { get; } = new() { Precision = SpectrumPrecision.Float64 };
}
