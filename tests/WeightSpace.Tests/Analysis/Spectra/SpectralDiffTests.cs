using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

public sealed class SpectralDiffTests
{
    [Fact]
    public void IdenticalCheckpoints_FullOverlap_NoIntruders_ZeroDeltas()
    {
        var w = SpectraFixtures.Gaussian(60, 40, 1);
        var a = new InMemoryTensorStore("ft").Add("fc.weight", w, 60, 40);
        var b = new InMemoryTensorStore("base").Add("fc.weight", w, 60, 40);

        var report = SpectrumAnalyzer.Compare(a, b, cancellationToken: TestContext.Current.CancellationToken);

        var layer = report.Layers.Single();
        Assert.Equal(LayerStatus.Ok, layer.Status);
        Assert.Equal(1.0, layer.SubspaceOverlap!.Value, 9);
        Assert.Equal(0, layer.IntruderCount);
        Assert.Equal(0.0, layer.DeltaAlpha);
        Assert.Equal(0.0, layer.DeltaStableRank);
    }

    [Fact]
    public void LowRankUpdate_OrthogonalToBaseTopVectors_FoundAsIntruders()
    {
        const int rows = 80, cols = 60;
        // Base with a clear top-10 subspace spanned by the first 10 coordinate axes (singular values 50..41) plus noise.
        var random = new Random(2);
        var baseW = SpectraFixtures.Gaussian(rows, cols, 3, std: 0.05);
        for (int i = 0; i < 10; i++) baseW[i * cols + i] += 50 - i;
        // Fine-tune adds two large directions on axes 40 and 41 of the output space: no base top vector is near them.
        var ft = (float[])baseW.Clone();
        ft[40 * cols + 30] += 80;
        ft[41 * cols + 31] += 70;
        var report = SpectrumAnalyzer.Compare(
            new InMemoryTensorStore("ft").Add("w", ft, rows, cols),
            new InMemoryTensorStore("base").Add("w", baseW, rows, cols),
            new SpectrumOptions { IntruderBaseRank = 10 }, cancellationToken: TestContext.Current.CancellationToken);

        var layer = report.Layers.Single();
        Assert.Equal(2, layer.IntruderCount);
        Assert.Equal([0, 1], layer.Intruders!.Select(i => i.Index));
        Assert.Equal(80, layer.Intruders![0].SingularValue, 1);
        // Top-10 subspaces share 8 of 10 directions: overlap = 8/10.
        Assert.Equal(0.8, layer.SubspaceOverlap!.Value, 2);
        Assert.True(layer.DeltaLambdaMax > 0);
    }

    [Fact]
    public void MismatchedTensors_SkippedWithReason()
    {
        var a = new InMemoryTensorStore("ft").Add("x", new float[400], 20, 20).Add("y", new float[400], 20, 20);
        var b = new InMemoryTensorStore("base").Add("x", new float[400], 10, 40).Add("z", new float[400], 20, 20);
        var report = SpectrumAnalyzer.Compare(a, b, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["x", "y", "z"], report.Layers.Select(l => l.Name));
        Assert.Contains("shape", report.Layers[0].Reason);
        Assert.Contains("absent from the baseline", report.Layers[1].Reason);
        Assert.Contains("absent from the fine-tuned", report.Layers[2].Reason);
    }
}
