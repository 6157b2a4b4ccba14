using WeightSpace.Analysis.Lora;
using WeightSpace.Formats.Peft;
using static WeightSpace.Tests.Analysis.Lora.LoraFixtures;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary>Combining adapters sums their ΔW (no cross terms); the analysis reports the change the factors imply.</summary>
public sealed class LoraCombineAnalyzeTests
{
    // Adapter 1: r = 1, α = 2 (s = 2), B₁ = [1, 0]ᵀ, A₁ = [1, 2]. Adapter 2: r = 1, α = 1, B₂ = [0, 1]ᵀ, A₂ = [3, 4].
    private static string Adapter(float[] a, float[] b, double alpha) => Write(Config(1, alpha, "", "[\"q_proj\"]"),
        new InMemoryTensorStore().Add(Prefix + "q_proj.lora_A.weight", a, 1, 2).Add(Prefix + "q_proj.lora_B.weight", b, 2, 1));

    private static double[] DeltaOf(string folder)
    {
        using var adapter = PeftAdapter.Open(folder);
        var m = Assert.Single(adapter.Modules);
        var a = adapter.Store.ReadSingle(m.A.Name);
        var b = adapter.Store.ReadSingle(m.B.Name);
        var d = new double[m.Rows * m.Columns];
        for (int i = 0; i < m.Rows; i++)
            for (int j = 0; j < m.Columns; j++)
                for (int k = 0; k < m.Rank; k++) d[i * m.Columns + j] += m.Scale * b[i * m.Rank + k] * a[k * m.Columns + j];
        return d;
    }

    [Fact]
    public void Combine_TwoAdapters_EqualsSumOfDeltas_NotProductOfSummedFactors()
    {
        string one = Adapter([1, 2], [1, 0], 2), two = Adapter([3, 4], [0, 1], 1);
        string output = Path.Combine(SharedData.TempFolder(), "combined");
        var report = LoraCombination.Write([one, two], [0.5, 2], null, output, ct: TestContext.Current.CancellationToken);
        var m = Assert.Single(report);
        Assert.Equal(2, m.Rank);
        Assert.True(m.RelativeError < 1e-12);
        // 0.5·2·[1,0]ᵀ[1,2] + 2·1·[0,1]ᵀ[3,4] = [[1, 2], [6, 8]]
        double[] expected = [1, 2, 6, 8];
        var got = DeltaOf(output);
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], got[i], 5);
        // Summing factors, (0.5·2·B₁ + 2·B₂)(A₁ + A₂) = [1, 2]ᵀ[4, 6] = [[4, 6], [8, 12]], has cross terms.
        Assert.True(Math.Abs(got[0] - 4) > 1);
    }

    [Fact]
    public void Combine_BelowTheSumRank_ReportsTheTruncationError()
    {
        string one = Adapter([1, 0], [1, 0], 1), two = Adapter([0, 1], [0, 1], 0.5);
        string output = Path.Combine(SharedData.TempFolder(), "combined");
        // ΔW = diag(1, 0.5); rank 1 keeps σ = 1: error √(0.25 / 1.25).
        var m = Assert.Single(LoraCombination.Write([one, two], [1.0], 1, output, ct: TestContext.Current.CancellationToken));
        Assert.Equal(Math.Sqrt(0.25 / 1.25), m.RelativeError, 6);
        var got = DeltaOf(output);
        Assert.Equal([1, 0, 0, 0], got.Select(x => Math.Round(x, 5)).ToArray());
    }

    [Fact]
    public void Analyze_ReportsNormsEffectiveRankAndLayers()
    {
        string folder = Write(Config(2, 2, "", "[\"q_proj\"]"), new InMemoryTensorStore()
            .Add(Prefix + "model.layers.3.q_proj.lora_A.weight", [1, 0, 0, 0, 0, 1, 0, 0], 2, 4)
            .Add(Prefix + "model.layers.3.q_proj.lora_B.weight", [3, 0, 0, 3, 0, 0, 0, 0], 4, 2));
        string baseDir = Path.Combine(SharedData.TempFolder(), "base");
        Directory.CreateDirectory(baseDir);
        var identity = new float[16];
        for (int i = 0; i < 4; i++) identity[i * 5] = 2;
        WeightSpace.Formats.Safetensors.SafetensorsWriter.Copy(new InMemoryTensorStore().Add("model.layers.3.q_proj.weight", identity, 4, 4),
            Path.Combine(baseDir, "model.safetensors"));
        var (modules, layers) = LoraAnalysis.Analyze(baseDir, folder, ct: TestContext.Current.CancellationToken);
        var m = Assert.Single(modules);
        // ΔW = diag(3, 3, 0, 0): ‖ΔW‖ = 3√2, ‖W‖ = 4, two equal singular values → effective rank 2.
        Assert.Equal(3 * Math.Sqrt(2), m.DeltaNorm, 5);
        Assert.Equal(3 * Math.Sqrt(2) / 4, m.RelativeChange, 5);
        Assert.Equal(2, m.EffectiveRank, 5);
        Assert.Equal(3, m.Layer);
        Assert.Equal(3, Assert.Single(layers).Layer);
    }
}
