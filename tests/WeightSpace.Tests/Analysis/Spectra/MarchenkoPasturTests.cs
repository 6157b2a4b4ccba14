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

        Assert.Equal("ok", layer.Status);
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
    public void Density_IntegratesToOne()
    {
        var (lo, hi) = MarchenkoPastur.BulkEdges(2.0, 300, 100);
        int steps = 200_000;
        double h = (hi - lo) / steps, sum = 0;
        for (int i = 0; i < steps; i++) sum += MarchenkoPastur.Density(lo + (i + 0.5) * h, 2.0, 300, 100) * h;
        Assert.InRange(sum, 0.999, 1.001);
    }
}
