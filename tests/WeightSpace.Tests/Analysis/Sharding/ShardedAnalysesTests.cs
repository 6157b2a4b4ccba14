using WeightSpace.Analysis.Lora;
using WeightSpace.Analysis.Quantization;
using WeightSpace.Analysis.Sharding;
using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Reports.Json;
using WeightSpace.Reports.TaskVectors;

namespace WeightSpace.Tests.Analysis.Sharding;

/// <summary>diff, the quantisation-error diff and lora extract split into shards: the combine gives what one run gives
/// (JSON byte for byte; the adapter's files byte for byte), and parts of different runs are refused.</summary>
public sealed class ShardedAnalysesTests
{
    private static float[] Random(Random r, int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();

    // Two layers of a small transformer-like model (layer groups, 2-D and 1-D tensors of different costs).
    private static InMemoryTensorStore Model(int seed, InMemoryTensorStore? from = null, double change = 0)
    {
        var r = new Random(seed);
        var store = new InMemoryTensorStore();
        foreach (var (name, shape) in Layout())
        {
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = from is null ? Random(r, n, 1) : from.ReadSingle(name);
            if (from is not null)
            {
                var d = Random(r, n, change);
                for (int i = 0; i < n; i++) values[i] += d[i];
            }
            store.Add(name, values, shape);
        }
        return store;
    }

    private static IEnumerable<(string, long[])> Layout()
    {
        yield return ("model.embed_tokens.weight", [32, 24]);
        for (int l = 0; l < 2; l++)
        {
            yield return ($"model.layers.{l}.self_attn.q_proj.weight", [24, 24]);
            yield return ($"model.layers.{l}.mlp.up_proj.weight", [48, 24]);
            yield return ($"model.layers.{l}.mlp.down_proj.weight", [24, 48]);
            yield return ($"model.layers.{l}.input_layernorm.weight", [24]);
        }
        yield return ("lm_head.weight", [32, 24]);
    }

    private static string Save(InMemoryTensorStore store, string folder, string name)
    {
        string path = Path.Combine(folder, name + ".safetensors");
        SafetensorsWriter.Copy(store, path);
        store.Dispose();
        return path;
    }

    private static string[] WriteParts(string folder, int count, Func<ShardSpec, string, PartFile> analyze) =>
        Enumerable.Range(1, count).Select(i =>
        {
            string path = Path.Combine(folder, $"part-{i}.json");
            var part = analyze(new ShardSpec(i, count), path);
            if (!File.Exists(path)) part.Write(path);
            return path;
        }).ToArray();

    private static byte[] Bytes(Action<Stream> write)
    {
        using var stream = new MemoryStream();
        write(stream);
        return stream.ToArray();
    }

    private static (string A, string B, string Base) DiffModels()
    {
        string dir = SharedData.TempFolder();
        var b = Model(1);
        var a = Model(2, b, 0.05);
        var c = Model(3, b, 0.2);
        return (Save(a, dir, "ft-a"), Save(c, dir, "ft-b"), Save(b, dir, "base"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(20)]
    public void Diff_Sharded_CombinesToTheSingleRunsJson(int shards)
    {
        var (a, b, basePath) = DiffModels();
        using var baseStore = Checkpoint.Open(basePath);
        using var storeA = Checkpoint.Open(a);
        using var storeB = Checkpoint.Open(b);
        var options = new TaskVectorOptions();
        var single = TaskVectorAnalysis.Analyze(baseStore, [storeA, storeB], options, ct: TestContext.Current.CancellationToken);
        byte[] expected = Bytes(s => TaskVectorReportJson.Write(s, single, options.TopFractions, null, 5));

        var parts = WriteParts(SharedData.TempFolder(), shards, (spec, _) => TaskVectorShards.AnalyzeShard(baseStore, [storeA, storeB], spec, options, 5, ct: TestContext.Current.CancellationToken));
        var (report, fractions, ranking) = TaskVectorShards.Combine(PartCombiner.Combine(parts));
        Assert.Equal(5, ranking);
        Assert.Equal(expected, Bytes(s => TaskVectorReportJson.Write(s, report, fractions, null, ranking)));
    }

    [Fact]
    public void Diff_Plan_BalancesByElementsAndSvdCost()
    {
        var (a, _, basePath) = DiffModels();
        using var baseStore = Checkpoint.Open(basePath);
        using var storeA = Checkpoint.Open(a);
        var options = new TaskVectorOptions();
        // 48×24: 1152 elements + 48·24·24 for the SVD, one model.
        Assert.Equal(1152 + 48 * 24 * 24, TaskVectorShards.Cost(baseStore.GetInfo("model.layers.0.mlp.up_proj.weight"), options, 1));
        Assert.Equal(2 * 24, TaskVectorShards.Cost(baseStore.GetInfo("model.layers.0.input_layernorm.weight"), options, 2));
        Assert.Equal(1152, TaskVectorShards.Cost(baseStore.GetInfo("model.layers.0.mlp.up_proj.weight"), options with { SingularValueCount = 0 }, 1));
        var plan = TaskVectorShards.Plan(baseStore, [storeA], options, 2);
        Assert.True(plan.Loads.Max() / plan.Loads.Min() < 1.5, string.Join(", ", plan.Loads));
    }

    [Fact]
    public void Diff_PartsOfOtherOptionsOrModels_AreRefused()
    {
        var (a, b, basePath) = DiffModels();
        using var baseStore = Checkpoint.Open(basePath);
        using var storeA = Checkpoint.Open(a);
        using var storeB = Checkpoint.Open(b);
        string dir = SharedData.TempFolder();
        var first = TaskVectorShards.AnalyzeShard(baseStore, [storeA], new ShardSpec(1, 2), new TaskVectorOptions(), ct: TestContext.Current.CancellationToken);
        first.Write(Path.Combine(dir, "1.json"));
        TaskVectorShards.AnalyzeShard(baseStore, [storeA], new ShardSpec(2, 2), new TaskVectorOptions { TopFractions = [0.05] }, ct: TestContext.Current.CancellationToken).Write(Path.Combine(dir, "2o.json"));
        TaskVectorShards.AnalyzeShard(baseStore, [storeB], new ShardSpec(2, 2), new TaskVectorOptions(), ct: TestContext.Current.CancellationToken).Write(Path.Combine(dir, "2m.json"));
        TaskVectorShards.AnalyzeShard(baseStore, [storeA], new ShardSpec(2, 2), new TaskVectorOptions(), rankingCount: 3, ct: TestContext.Current.CancellationToken).Write(Path.Combine(dir, "2c.json"));
        var e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([Path.Combine(dir, "1.json"), Path.Combine(dir, "2o.json")]));
        Assert.Contains("options 'top_fractions=0.05", e.Message);
        e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([Path.Combine(dir, "1.json"), Path.Combine(dir, "2m.json")]));
        Assert.Contains("models '", e.Message);
        e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([Path.Combine(dir, "1.json"), Path.Combine(dir, "2c.json")]));
        Assert.Contains("context '", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void QuantizationError_ShardedOnRealGguf_CombinesToTheSingleRunsJson()
    {
        using var reference = Checkpoint.Open(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"));
        using var quantized = Checkpoint.Open(SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf"));
        byte[] expected = Bytes(s => QuantizationErrorJson.Write(s, QuantizationErrorReport.Compute(reference, quantized, TestContext.Current.CancellationToken)));
        var parts = WriteParts(SharedData.TempFolder(), 3, (spec, _) => QuantizationShards.AnalyzeShard(reference, quantized, spec, ct: TestContext.Current.CancellationToken));
        var combined = QuantizationShards.Combine(PartCombiner.Combine(parts));
        Assert.Equal(expected, Bytes(s => QuantizationErrorJson.Write(s, combined)));
        // The README's numbers, as a check that the combined report is the real one (mean and max relative L2).
        Assert.Equal(0.06239, combined.Summary.MeanRelativeL2, 4);
        Assert.Equal(0.07188, combined.Summary.MaxRelativeL2, 4);
    }

    // Base and fine-tune: rank-2 changes of the projections, a changed norm (saved in full), one projection unchanged.
    private static (string Base, string FineTuned) LoraModels()
    {
        string dir = SharedData.TempFolder();
        var b = Model(7);
        var r = new Random(8);
        var ft = new InMemoryTensorStore();
        foreach (var info in b.Tensors)
        {
            var w = b.ReadSingle(info.Name);
            if (info.Name.Contains("layers.0.self_attn", StringComparison.Ordinal)) { ft.Add(info.Name, w, info.Shape.ToArray()); continue; }
            if (info.Shape.Rank == 1) { for (int i = 0; i < w.Length; i++) w[i] += 0.01f * (i % 3); }
            else if (!info.Name.Contains("embed", StringComparison.Ordinal))
            {
                int m = (int)info.Shape[0], n = (int)info.Shape[1], rank = info.Name.Contains("up_proj", StringComparison.Ordinal) ? 3 : 2;
                var u = Random(r, m * rank, 0.3);
                var v = Random(r, rank * n, 0.3);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                        for (int k = 0; k < rank; k++) w[i * n + j] += u[i * rank + k] * v[k * n + j];
            }
            ft.Add(info.Name, w, info.Shape.ToArray());
        }
        return (Save(b, dir, "base"), Save(ft, dir, "ft"));
    }

    public static TheoryData<int, bool> ExtractCases => new() { { 2, false }, { 3, true }, { 7, false } };

    [Theory]
    [MemberData(nameof(ExtractCases))]
    public void LoraExtract_Sharded_WritesTheSingleRunsAdapterByteForByte(int shards, bool energy)
    {
        var (basePath, ftPath) = LoraModels();
        var options = energy ? new LoraExtractOptions { Rank = 8, Energy = 0.999 } : new LoraExtractOptions { Rank = 4 };
        string single = Path.Combine(SharedData.TempFolder(), "single");
        using var baseStore = Checkpoint.Open(basePath);
        using var ftStore = Checkpoint.Open(ftPath);
        var expected = LoraExtraction.Write(baseStore, ftStore, single, options, "base", ct: TestContext.Current.CancellationToken);

        string dir = SharedData.TempFolder();
        var parts = WriteParts(dir, shards, (spec, path) => LoraExtractShards.ExtractShard(baseStore, ftStore, spec, path, options, "base", ct: TestContext.Current.CancellationToken));
        string combinedDir = Path.Combine(SharedData.TempFolder(), "combined");
        var result = LoraExtractShards.Combine(PartCombiner.Combine(parts), combinedDir, ct: TestContext.Current.CancellationToken);

        Assert.Equal(expected.Files, result.Files);
        foreach (var file in expected.Files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(single, file)), File.ReadAllBytes(Path.Combine(combinedDir, file)));
        Assert.Equal(expected.Modules, result.Modules);
        Assert.Equal(expected.SavedInFull, result.SavedInFull);
        Assert.Equal(expected.Unchanged, result.Unchanged);
        if (energy)
        {
            // Ranks differ (2 and 3), so the one config carries a rank_pattern.
            Assert.Contains("rank_pattern", File.ReadAllText(Path.Combine(combinedDir, "adapter_config.json")));
            Assert.Equal([2, 3], result.Modules.Select(m => m.Rank).Distinct().Order());
        }
    }

    [Fact]
    public void LoraExtract_StaleFactorsOrOtherRank_AreRefused_AndNothingIsWritten()
    {
        var (basePath, ftPath) = LoraModels();
        using var baseStore = Checkpoint.Open(basePath);
        using var ftStore = Checkpoint.Open(ftPath);
        string dir = SharedData.TempFolder();
        var parts = WriteParts(dir, 2, (spec, path) => LoraExtractShards.ExtractShard(baseStore, ftStore, spec, path, new LoraExtractOptions { Rank = 4 }, ct: TestContext.Current.CancellationToken));
        string other = Path.Combine(dir, "other.json");
        LoraExtractShards.ExtractShard(baseStore, ftStore, new ShardSpec(2, 2), other, new LoraExtractOptions { Rank = 2 }, ct: TestContext.Current.CancellationToken);
        var e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([parts[0], other]));
        Assert.Contains("options '", e.Message);

        // Factors replaced after the part was written (another run's shard 2 at rank 2): refused by hash, no output.
        File.Copy(LoraExtractShards.FactorsPath(other), LoraExtractShards.FactorsPath(parts[1]), overwrite: true);
        string output = Path.Combine(SharedData.TempFolder(), "adapter");
        e = Assert.Throws<InvalidPartException>(() => LoraExtractShards.Combine(PartCombiner.Combine(parts), output, ct: TestContext.Current.CancellationToken));
        Assert.Contains("stale or damaged", e.Message);
        Assert.False(Directory.Exists(output));
        File.Delete(LoraExtractShards.FactorsPath(parts[1]));
        e = Assert.Throws<InvalidPartException>(() => LoraExtractShards.Combine(PartCombiner.Combine(parts), output, ct: TestContext.Current.CancellationToken));
        Assert.Contains("is missing", e.Message);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Attachment_OutsideThePartsFolder_IsRefused()
    {
        string dir = SharedData.TempFolder();
        string path = Path.Combine(dir, "p.json");
        new PartFile
        {
            ToolVersion = "1", Verb = "lora-extract", Models = ["m"], Options = "", Shard = ShardSpec.Whole, AllItems = [],
            Items = new Dictionary<string, System.Text.Json.Nodes.JsonNode>(), Attachment = new PartAttachment("../x.safetensors", new string('0', 64)),
        }.Write(path);
        Assert.Contains("is not a file name in the part's folder", Assert.Throws<InvalidPartException>(() => PartFile.Read(path)).Message);
    }

    [Fact]
    public void PartNumbers_RoundTripEveryDoubleExactly()
    {
        double[] values = [0.1, 1.0 / 3, double.Epsilon, double.MaxValue, -0.0, double.PositiveInfinity, double.NegativeInfinity, 6.02214076e23];
        var back = PartNumbers.ReadArray(System.Text.Json.Nodes.JsonNode.Parse(PartNumbers.Array(values).ToJsonString()));
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), back.Select(BitConverter.DoubleToInt64Bits));
        Assert.True(double.IsNaN(PartNumbers.Read(System.Text.Json.Nodes.JsonNode.Parse(PartNumbers.Of(double.NaN).ToJsonString()))));
    }
}
