using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

public sealed class MarchenkoPasturTests
{
    private const int N = 2000, M = 1000;
    // Unit-variance entries: the ESD of WᵀW fills [(√N − √M)², (√N + √M)²] (Marchenko–Pastur 1967).
    private static readonly double ExactPlus = Math.Pow(Math.Sqrt(N) + Math.Sqrt(M), 2);
    private static readonly double ExactMinus = Math.Pow(Math.Sqrt(N) - Math.Sqrt(M), 2);

    [Fact]
    public void GaussianMatrix_BulkEdgesWithinTwoPercent_NoSpikes()
    {
        var layer = SpectrumAnalyzer.AnalyzeMatrix("gauss", SpectraFixtures.Gaussian(N, M, seed: 11), N, M);

        Assert.Equal(LayerStatus.Ok, layer.Status);
        Assert.Equal(M, layer.NumEvals);
        Assert.InRange(layer.MpLambdaPlus!.Value / ExactPlus, 0.98, 1.02);
        Assert.InRange(layer.MpLambdaMinus!.Value / ExactMinus, 0.98, 1.02);
        Assert.InRange(layer.MpVariance!.Value, 0.98, 1.02);
        // The empirical edge itself, not only the fit: λ_max sits within Tracy–Widom fluctuations of λ₊.
        Assert.InRange(layer.LambdaMax!.Value / ExactPlus, 0.98, 1.02);
        Assert.Equal(0, layer.NumSpikes);
    }

    [Fact]
    public void GaussianMatrix_NormalizedEigenvalues_EdgeIsOnePlusInverseRootQSquared()
    {
        var options = new SpectrumOptions { NormalizeEigenvalues = true };
        var layer = SpectrumAnalyzer.AnalyzeMatrix("gauss", SpectraFixtures.Gaussian(N, M, seed: 12), M, N, options);

        double q = (double)N / M;
        Assert.Equal(N, layer.N);
        Assert.Equal(q, layer.Q);
        Assert.InRange(layer.MpLambdaPlus!.Value / Math.Pow(1 + 1 / Math.Sqrt(q), 2), 0.98, 1.02);
        Assert.Equal(0, layer.NumSpikes);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void PlantedSpikes_AllFound(int k)
    {
        var w = SpectraFixtures.Gaussian(N, M, seed: 100 + k);
        var random = new Random(k);
        for (int i = 0; i < k; i++)
        {
            // θ² from 1.5 to k + 0.5 times the bulk edge: well above the BBP threshold √(NM).
            double theta = Math.Sqrt((1.5 + i) * ExactPlus);
            SpectraFixtures.AddRankOne(w, N, M, theta, SpectraFixtures.UnitVector(N, random), SpectraFixtures.UnitVector(M, random));
        }

        var layer = SpectrumAnalyzer.AnalyzeMatrix("spiked", w, N, M);

        Assert.Equal(k, layer.NumSpikes);
        Assert.InRange(layer.MpVariance!.Value, 0.98, 1.02);
    }

    [Fact]
    public void ManyStrongSpikes_VarianceNotBiasedByTheNoiseTheyCarry()
    {
        // 20 strong spikes in a 1000×500 matrix: each takes ≈ σ²(N + M) of noise energy out of the bulk, which would
        // bias a plain trimmed mean low by k·M/(NM − kM)·… ≈ 2%; the fit must stay within 0.8% of σ² = 1.
        const int n = 1000, m = 500, k = 20;
        double edge = Math.Pow(Math.Sqrt(n) + Math.Sqrt(m), 2);
        var w = SpectraFixtures.Gaussian(n, m, seed: 77);
        var random = new Random(78);
        for (int i = 0; i < k; i++)
            SpectraFixtures.AddRankOne(w, n, m, Math.Sqrt((3 + i) * edge), SpectraFixtures.UnitVector(n, random), SpectraFixtures.UnitVector(m, random));

        var layer = SpectrumAnalyzer.AnalyzeMatrix("spiked", w, n, m);

        Assert.Equal(k, layer.NumSpikes);
        Assert.InRange(layer.MpVariance!.Value, 0.992, 1.008);
    }

    [Fact]
    public void Density_IntegratesToOne()
    {
        var (lo, hi) = MarchenkoPastur.BulkEdges(2.0, 300, 100);
        int steps = 200_000;
        double h = (hi - lo) / steps, sum = 0;
        for (int i = 0; i < steps; i++) sum += MarchenkoPastur.Density(lo + (i + 0.5) * h, 2.0, 300, 100) * h;
        Assert.InRange(sum, 0.999, 1.001);
    }
}
