using CsCheck;
using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

public sealed class SpectrumAnalyzerTests
{
    [Fact]
    public void RankOneMatrix_StableRankOne_NumericalRankOne()
    {
        // Small integers, so u·vᵀ is exactly rank one even in float32 storage; σ = ‖u‖·‖v‖.
        var u = Enumerable.Range(0, 40).Select(i => (double)(i % 5 - 2)).ToArray();
        var v = Enumerable.Range(0, 30).Select(j => (double)(j % 7 + 1)).ToArray();
        var w = new float[40 * 30];
        SpectraFixtures.AddRankOne(w, 40, 30, 1.0, u, v);
        double sigma = Math.Sqrt(u.Sum(x => x * x) * v.Sum(x => x * x));

        var layer = SpectrumAnalyzer.AnalyzeMatrix("r1", w, 40, 30, SpectraFixtures.Float64);

        Assert.Equal(1.0, layer.StableRank!.Value, 9);
        Assert.Equal(1, layer.NumericalRank);
        Assert.Equal(sigma * sigma, layer.LambdaMax!.Value, 6);
        Assert.Equal(0.0, layer.MatrixEntropy);
        Assert.Equal(1.0, layer.EffectiveRank!.Value, 9);
    }

    [Fact]
    public void DiagonalThreeOne_HandComputedRanksAndEntropy_NoPowerLaw()
    {
        // σ = (3, 1): p = (3/4, 1/4) for the effective rank (Roy–Vetterli weight σ, not σ²); λ = (9, 1).
        var layer = SpectrumAnalyzer.AnalyzeMatrix("d", [3f, 0f, 0f, 1f], 2, 2, SpectraFixtures.Float64);

        Assert.Equal(Math.Exp(-(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25))), layer.EffectiveRank!.Value, 12);
        Assert.Equal(10.0 / 9, layer.StableRank!.Value, 12);
        Assert.Equal(-(0.9 * Math.Log(0.9) + 0.1 * Math.Log(0.1)) / Math.Log(2), layer.MatrixEntropy!.Value, 12);
        Assert.Equal(Math.Log10(10), layer.LogNorm!.Value, 12);
        Assert.Null(layer.Alpha);   // two eigenvalues are fewer than MinTailCount
        Assert.Null(layer.AlphaWeighted);
        Assert.Equal(LayerStatus.Ok, layer.Status);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(37)]
    public void Identity_EffectiveRankN_EntropyOne_StableRankN(int n)
    {
        var w = new float[n * n];
        for (int i = 0; i < n; i++) w[i * n + i] = 3f;

        var layer = SpectrumAnalyzer.AnalyzeMatrix("eye", w, n, n, SpectraFixtures.Float64);

        Assert.Equal(n, layer.EffectiveRank!.Value, 9);
        Assert.Equal(n, layer.StableRank!.Value, 9);
        Assert.Equal(1.0, layer.MatrixEntropy!.Value, 9);
        Assert.Equal(n, layer.NumericalRank);
        Assert.Equal(Math.Log10(9.0 * n), layer.LogNorm!.Value, 9);       // log10 ‖W‖_F²
        Assert.Equal(Math.Log10(9.0), layer.LogSpectralNorm!.Value, 9);
        Assert.Equal(3.0 * Math.Sqrt(n), layer.FrobeniusNorm!.Value, 9);
    }

    [Fact]
    public void Metrics_InvariantToPermutingRowsAndColumns() =>
        Gen.Select(Gen.Int[10, 40], Gen.Int[10, 40], Gen.Int).Sample((rows, cols, seed) =>
        {
            var w = SpectraFixtures.Gaussian(rows, cols, seed);
            // A few strong directions so α, spikes and ranks are all non-trivial.
            var random = new Random(seed);
            for (int k = 0; k < 3; k++)
                SpectraFixtures.AddRankOne(w, rows, cols, 20.0 / (k + 1), SpectraFixtures.UnitVector(rows, random), SpectraFixtures.UnitVector(cols, random));
            var rowPerm = Enumerable.Range(0, rows).ToArray();
            var colPerm = Enumerable.Range(0, cols).ToArray();
            random.Shuffle(rowPerm);
            random.Shuffle(colPerm);
            var p = new float[w.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    p[r * cols + c] = w[rowPerm[r] * cols + colPerm[c]];

            var a = SpectrumAnalyzer.AnalyzeMatrix("w", w, rows, cols, SpectraFixtures.Float64 with { MinTailCount = 5 });
            var b = SpectrumAnalyzer.AnalyzeMatrix("w", p, rows, cols, SpectraFixtures.Float64 with { MinTailCount = 5 });

            double tol = 1e-9 * a.LambdaMax!.Value;
            for (int i = 0; i < a.Eigenvalues!.Count; i++) Assert.Equal(a.Eigenvalues[i], b.Eigenvalues![i], tol);
            Assert.Equal(a.StableRank!.Value, b.StableRank!.Value, 1e-9);
            Assert.Equal(a.EffectiveRank!.Value, b.EffectiveRank!.Value, 1e-9);
            Assert.Equal(a.MatrixEntropy!.Value, b.MatrixEntropy!.Value, 1e-9);
            Assert.Equal(a.Alpha!.Value, b.Alpha!.Value, 1e-6);
            Assert.Equal(a.NumSpikes, b.NumSpikes);
            Assert.Equal(a.MpVariance!.Value, b.MpVariance!.Value, 1e-9 * a.MpVariance.Value);
        }, iter: 40);

    [Fact]
    public void Analyze_ReportsEveryTensor_SkipsWithReasons_FailureDoesNotStopAnalysis()
    {
        var nan = SpectraFixtures.Gaussian(20, 20, 1);
        nan[7] = float.NaN;
        var store = new InMemoryTensorStore("model")
            .Add("fc1.weight", SpectraFixtures.Gaussian(30, 20, 2), 30, 20)
            .Add("fc1.bias", new float[30], 30)
            .Add("tok_embeddings.weight", SpectraFixtures.Gaussian(50, 16, 3), 50, 16)
            .Add("head.weight", SpectraFixtures.Gaussian(2, 20, 4), 2, 20)
            .Add("broken.weight", nan, 20, 20)
            .Add(new TensorInfo("steps", DType.I64, new Shape(1)), new byte[8])
            .Add("conv3d.weight", new float[2 * 2 * 2 * 2 * 2], 2, 2, 2, 2, 2)
            .Add("fc2.weight", SpectraFixtures.Gaussian(20, 30, 5), 20, 30);

        var report = SpectrumAnalyzer.Analyze(store, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(store.Tensors.Select(t => t.Name), report.Layers.Select(l => l.Name));
        LayerStatus Status(string name) => report.Layers.Single(l => l.Name == name).Status;
        string Reason(string name) => report.Layers.Single(l => l.Name == name).Reason!;
        Assert.Equal(LayerStatus.Ok, Status("fc1.weight"));
        Assert.Equal(LayerStatus.Ok, Status("fc2.weight"));
        Assert.Equal(LayerStatus.Skipped, Status("fc1.bias"));
        Assert.Contains("1-D", Reason("fc1.bias"));
        Assert.Equal("embedding", report.Layers.Single(l => l.Name == "tok_embeddings.weight").Kind);
        Assert.Contains("MinDimension", Reason("head.weight"));
        Assert.Equal(LayerStatus.Failed, Status("broken.weight"));
        Assert.Contains("element 7", Reason("broken.weight"));
        Assert.Contains("i64", Reason("steps"));
        Assert.Contains("rank-5", Reason("conv3d.weight"));
        Assert.Equal((2, 5, 1), (report.Summary.LayersOk, report.Summary.LayersSkipped, report.Summary.LayersFailed));
        Assert.Equal(2, report.Summary.StableRank.Count);
        Assert.Equal((report.Layers[0].StableRank!.Value + report.Layers[^1].StableRank!.Value) / 2, report.Summary.StableRank.Mean!.Value, 12);
    }

    [Fact]
    public void Filter_NonMatchingTensorsSkippedNotDropped()
    {
        var store = new InMemoryTensorStore()
            .Add("a.weight", SpectraFixtures.Gaussian(20, 20, 1), 20, 20)
            .Add("b.weight", SpectraFixtures.Gaussian(20, 20, 2), 20, 20);
        var report = SpectrumAnalyzer.Analyze(store, new SpectrumOptions { Filter = "^b\\." }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal([LayerStatus.Skipped, LayerStatus.Ok], report.Layers.Select(l => l.Status));
    }

    [Fact]
    public void InvalidOption_ThrowsNamingTheOption()
    {
        var store = new InMemoryTensorStore();
        var e = Assert.Throws<WeightSpaceException>(() => SpectrumAnalyzer.Analyze(store, new SpectrumOptions { Filter = "(" }, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("Filter", e.Message);
        e = Assert.Throws<WeightSpaceException>(() => SpectrumAnalyzer.Analyze(store, new SpectrumOptions { MinTailCount = 1 }, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("MinTailCount", e.Message);
    }

    [Fact]
    public void Analyze_ParallelEqualsSequential_AndRandomizationIsSeeded()
    {
        var store = new InMemoryTensorStore();
        for (int i = 0; i < 5; i++) store.Add($"l{i}.weight", SpectraFixtures.Gaussian(40, 25 + i, i), 40, 25 + i);
        var options = new SpectrumOptions { Randomize = true, Seed = 9 };

        var one = SpectrumAnalyzer.Analyze(store, options with { MaxDegreeOfParallelism = 1 }, cancellationToken: TestContext.Current.CancellationToken);
        var two = SpectrumAnalyzer.Analyze(store, options with { MaxDegreeOfParallelism = 2 }, cancellationToken: TestContext.Current.CancellationToken);
        var again = SpectrumAnalyzer.Analyze(store, options, cancellationToken: TestContext.Current.CancellationToken);
        var otherSeed = SpectrumAnalyzer.Analyze(store, options with { Seed = 10 }, cancellationToken: TestContext.Current.CancellationToken);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(one.Layers[i].Alpha, two.Layers[i].Alpha);
            Assert.Equal(one.Layers[i].Randomized!.Eigenvalues, two.Layers[i].Randomized!.Eigenvalues);
            Assert.Equal(one.Layers[i].Randomized!.Eigenvalues, again.Layers[i].Randomized!.Eigenvalues);
            Assert.NotEqual(one.Layers[i].Randomized!.Eigenvalues, otherSeed.Layers[i].Randomized!.Eigenvalues);
        }
    }

    [Fact]
    public void Randomize_HugeEntryIsCorrelationTrap_GaussianHasNone()
    {
        var w = SpectraFixtures.Gaussian(300, 200, 21);
        var clean = SpectrumAnalyzer.AnalyzeMatrix("clean", w, 300, 200, new SpectrumOptions { Randomize = true });
        w[12345] = 400f;   // one entry 400σ: survives any shuffle as a rank-one spike
        var trapped = SpectrumAnalyzer.AnalyzeMatrix("trap", w, 300, 200, new SpectrumOptions { Randomize = true });

        Assert.Equal(0, clean.Randomized!.NumTraps);
        Assert.Equal(1, trapped.Randomized!.NumTraps);
        // Real and shuffled Gaussian ESDs are the same law: a small distance, far from the maximum √ln2 ≈ 0.83.
        Assert.InRange(clean.Randomized.RandDistance!.Value, 0, 0.4);
    }

    [Fact]
    public void JensenShannon_IdenticalIsZero_DisjointIsMaximal()
    {
        double[] a = [1, 2, 3, 4], b = [1e6, 2e6, 3e6, 4e6];
        Assert.Equal(0.0, WeightSpace.Analysis.Spectra.RandomizedComparison.JensenShannonDistance(a, a, 10)!.Value, 12);
        Assert.Equal(Math.Sqrt(Math.Log(2)), WeightSpace.Analysis.Spectra.RandomizedComparison.JensenShannonDistance(a, b, 10)!.Value, 12);
    }
}
