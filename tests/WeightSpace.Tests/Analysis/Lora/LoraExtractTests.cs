using TorchSharp;
using WeightSpace.Analysis.Lora;
using WeightSpace.Formats;
using WeightSpace.Formats.Peft;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary>Extraction recovers low-rank changes, keeps undecomposable ones, and the randomized SVD agrees with the exact one.</summary>
public sealed class LoraExtractTests
{
    private readonly ITestOutputHelper _output;

    public LoraExtractTests(ITestOutputHelper output) => _output = output;

    private static float[] Random(int count, int seed, double scale = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(scale * (random.NextDouble() * 2 - 1))).ToArray();
    }

    private static float[] Product(float[] b, float[] a, int rows, int rank, int cols)
    {
        var result = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double sum = 0;
                for (int k = 0; k < rank; k++) sum += (double)b[i * rank + k] * a[k * cols + j];
                result[i * cols + j] = (float)sum;
            }
        return result;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RankRDelta_RecoveredExactly_ByExactAndRandomizedSvd(bool randomized)
    {
        const int rows = 96, cols = 80, rank = 3;
        var w = Random(rows * cols, 1);
        var delta = Product(Random(rows * rank, 2), Random(rank * cols, 3), rows, rank, cols);
        var ft = w.Zip(delta, (x, d) => x + d).ToArray();
        var norm = new float[] { 1, 2 };
        var baseModel = new InMemoryTensorStore().Add("layer.proj.weight", w, rows, cols).Add("norm.weight", norm, 2);
        var fineTuned = new InMemoryTensorStore().Add("layer.proj.weight", ft, rows, cols).Add("norm.weight", [1, 3], 2);
        string output = Path.Combine(SharedData.TempFolder(), "adapter");
        var result = LoraExtraction.Write(baseModel, fineTuned, output,
            new LoraExtractOptions { Rank = rank, AllowRandomized = randomized, DType = DType.F64 }, ct: TestContext.Current.CancellationToken);

        var module = Assert.Single(result.Modules);
        Assert.Equal(randomized ? "randomized" : "exact", module.Solver);
        Assert.Equal(rank, module.Rank);
        Assert.True(module.RelativeError < 1e-6, $"relative error {module.RelativeError}");
        Assert.True(module.RetainedEnergy > 1 - 1e-9);
        Assert.Contains("norm.weight", result.SavedInFull.Keys);   // the changed norm is kept, not dropped

        // The folder is a PEFT adapter our reader accepts, and applying it gives the fine-tune back.
        using var adapter = PeftAdapter.Open(output);
        Assert.Equal(["norm"], adapter.Config.ModulesToSave);
        string merged = Path.Combine(SharedData.TempFolder(), "merged");
        LoraApplication.Write(baseModel, [(BoundAdapter.Bind(adapter, baseModel), 1.0)], merged, ct: TestContext.Current.CancellationToken);
        using var back = Checkpoint.Open(merged);
        var got = back.ReadSingle("layer.proj.weight");
        for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(got[i] - ft[i]) <= 1e-5f * (1 + Math.Abs(ft[i])), $"element {i}: {got[i]} vs {ft[i]}");
        Assert.Equal([1f, 3f], back.ReadSingle("norm.weight"));
    }

    [Fact]
    public void RandomizedSvd_MatchesExactLeadingSingularValues()
    {
        using var scope = torch.NewDisposeScope();
        // A decaying spectrum σ_i = 0.8^i: the randomized range finder with 2 power iterations is accurate to ~1e-6.
        var u = torch.linalg.qr(torch.randn(300, 40, dtype: torch.float64, generator: new torch.Generator(1))).Q;
        var v = torch.linalg.qr(torch.randn(200, 40, dtype: torch.float64, generator: new torch.Generator(2))).Q;
        var sigma = torch.pow(0.8, torch.arange(40, dtype: torch.float64));
        var a = u.mul(sigma.unsqueeze(0)).matmul(v.mT);
        var (_, sr, _) = LowRank.Randomized(a, 8, 10, 2, 7);
        var (_, se, _) = LowRank.Exact(a, 8);
        var r = sr.data<double>().ToArray();
        var e = se.data<double>().ToArray();
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(r[i] - e[i]) <= 1e-6 * e[0], $"σ{i}: randomized {r[i]} vs exact {e[i]}");
        Assert.Equal(Math.Pow(0.8, 7), e[7], 12);
    }

    [Fact]
    public void EnergyMode_ChoosesPerModuleRanks_AndWritesRankPattern()
    {
        const int n = 40;
        var w = new float[n * n];
        var baseModel = new InMemoryTensorStore().Add("a.weight", w, n, n).Add("b.weight", w, n, n);
        var rank1 = Product(Random(n, 4), Random(n, 5), n, 1, n);
        var rank4 = Product(Random(n * 4, 6), Random(4 * n, 7), n, 4, n);
        var fineTuned = new InMemoryTensorStore().Add("a.weight", rank1, n, n).Add("b.weight", rank4, n, n);
        string output = Path.Combine(SharedData.TempFolder(), "adapter");
        var result = LoraExtraction.Write(baseModel, fineTuned, output, new LoraExtractOptions { Rank = 64, Energy = 0.999999 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 4 }, result.Modules.ToDictionary(m => m.Module, m => m.Rank));
        using var adapter = PeftAdapter.Open(output);
        Assert.Equal(1, adapter.Config.RankOf("a") == 1 ? 1 : 0);
        Assert.Equal(4, adapter.Config.RankOf("b"));
        Assert.All(adapter.Modules, m => Assert.Equal(1.0, m.Scale));
    }

    [Fact]
    public void TiedLmHead_InBase_IsReadAsTheEmbedding()
    {
        var embed = Random(12, 8);
        var head = embed.Select((x, i) => x + (i % 4 == 0 ? 1f : 0f)).ToArray();
        var baseModel = new InMemoryTensorStore().Add("model.embed_tokens.weight", embed, 3, 4);
        var fineTuned = new InMemoryTensorStore().Add("model.embed_tokens.weight", embed, 3, 4).Add("lm_head.weight", head, 3, 4);
        var result = LoraExtraction.Write(baseModel, fineTuned, Path.Combine(SharedData.TempFolder(), "adapter"),
            new LoraExtractOptions { Rank = 1 }, ct: TestContext.Current.CancellationToken);
        var module = Assert.Single(result.Modules);
        Assert.Equal("lm_head", module.Module);
        Assert.True(module.RelativeError < 1e-6);
        Assert.Empty(result.NotWritten);
    }

    [Fact]
    public void LoraPythonMerged_Rank8_RecoversAdapterBelowBf16NoiseFloor_AndReapplyingReproducesIt()
    {
        string basePath = SharedData.RequireModel("llm/base");
        string mergedPath = SharedData.Require("llm/lora-python-merged");
        string adapterPath = SharedData.Require("llm/lora-python");
        string output = Path.Combine(SharedData.TempFolder(), "extracted");
        var result = LoraExtraction.Write(basePath, mergedPath, output, new LoraExtractOptions { Rank = 8 }, TestContext.Current.CancellationToken);
        Assert.Equal(28, result.Modules.Count);
        Assert.Empty(result.NotWritten);
        Assert.Empty(result.SavedInFull);

        using var baseModel = Checkpoint.Open(basePath);
        using var merged = Checkpoint.Open(mergedPath);
        using var truth = PeftAdapter.Open(adapterPath);
        using var extracted = PeftAdapter.Open(output);
        var trueBound = BoundAdapter.Bind(truth, baseModel);
        var extractedBound = BoundAdapter.Bind(extracted, baseModel);
        double noise = 0, error = 0, norm = 0;
        foreach (var module in trueBound.Modules)
        {
            var exact = LoraMath.Delta(truth.Store, module, 1);
            var recovered = LoraMath.Delta(extracted.Store, extractedBound.Modules.Single(m => m.BaseWeight.Name == module.BaseWeight.Name), 1);
            var w = baseModel.ReadDouble(module.BaseWeight.Name);
            var m = merged.ReadDouble(module.BaseWeight.Name);
            for (int i = 0; i < exact.Length; i++)
            {
                double observed = m[i] - w[i];   // ΔW as stored: exact ΔW plus the BF16 rounding of the merged weight
                noise += (observed - exact[i]) * (observed - exact[i]);
                error += ((double)recovered[i] - exact[i]) * ((double)recovered[i] - exact[i]);
                norm += (double)exact[i] * exact[i];
            }
        }
        double noiseFloor = Math.Sqrt(noise / norm), relative = Math.Sqrt(error / norm);
        _output.WriteLine($"BF16 noise floor {noiseFloor:E3}; extracted rank-8 ΔW relative error {relative:E3}");
        Assert.True(relative < noiseFloor, $"relative error {relative} is not below the BF16 noise floor {noiseFloor}");

        string reapplied = Path.Combine(SharedData.TempFolder(), "reapplied");
        LoraApplication.Write(baseModel, [(extractedBound, 1.0)], reapplied, ct: TestContext.Current.CancellationToken);
        using var again = Checkpoint.Open(reapplied);
        // Elements near zero have BF16 ulps far below ΔW's rounding noise, so "reproduces" is measured against that
        // noise: the re-applied model is as close to lora-python-merged as the merged model's own rounding allows.
        long differing = 0, total = 0;
        double gap = 0, deltaNorm = 0;
        foreach (var info in merged.Tensors)
        {
            var x = again.ReadDouble(info.Name);
            var y = merged.ReadDouble(info.Name);
            var w = baseModel.ReadDouble(info.Name);
            for (int i = 0; i < x.Length; i++, total++)
            {
                if (x[i] != y[i]) differing++;
                gap += (x[i] - y[i]) * (x[i] - y[i]);
                deltaNorm += (y[i] - w[i]) * (y[i] - w[i]);
            }
        }
        double reproduction = Math.Sqrt(gap / deltaNorm);
        Assert.True(reproduction < noiseFloor, $"‖re-applied − merged‖/‖ΔW‖ = {reproduction} is not below the noise floor {noiseFloor}");
        _output.WriteLine($"re-applied: ‖re-applied − merged‖/‖ΔW‖ = {reproduction:E3}");
        _output.WriteLine($"re-applied: {differing} of {total} elements differ from lora-python-merged");
    }
}
