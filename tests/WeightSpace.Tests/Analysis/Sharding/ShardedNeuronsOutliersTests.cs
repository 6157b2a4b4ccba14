using WeightSpace.Analysis.Neurons;
using WeightSpace.Analysis.Outliers;
using WeightSpace.Analysis.Sharding;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Reports.Neurons;

namespace WeightSpace.Tests.Analysis.Sharding;

/// <summary>Neuron decoding and the outlier scan split into shards: the combine gives the single run's JSON byte for
/// byte (including the ranking over all layers, which no shard sees whole), and parts of other runs are refused.</summary>
public sealed class ShardedNeuronsOutliersTests
{
    private const int Vocab = 32, Hidden = 16;

    /// <summary>Intermediate size per layer: different sizes give different costs (vocab × elements).</summary>
    private static readonly int[] Intermediate = [48, 24, 24, 12];

    /// <summary>A Llama-named model with lm_head and a final norm; with <paramref name="from"/>, that model plus noise.</summary>
    private static string Model(string folder, string name, int seed, string? from = null)
    {
        var r = new Random(seed);
        using var source = from is null ? null : Checkpoint.Open(from);
        using var store = new InMemoryTensorStore();
        float[] Values(string tensor, int n) =>
            source is null ? Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray()
            : source.ReadSingle(tensor).Select(v => v + (float)(r.NextDouble() - 0.5) * 0.3f).ToArray();
        store.Add("model.embed_tokens.weight", Values("model.embed_tokens.weight", Vocab * Hidden), Vocab, Hidden);
        for (int l = 0; l < Intermediate.Length; l++)
        {
            store.Add($"model.layers.{l}.mlp.up_proj.weight", Values($"model.layers.{l}.mlp.up_proj.weight", Intermediate[l] * Hidden), Intermediate[l], Hidden);
            store.Add($"model.layers.{l}.mlp.down_proj.weight", Values($"model.layers.{l}.mlp.down_proj.weight", Hidden * Intermediate[l]), Hidden, Intermediate[l]);
        }
        store.Add("model.norm.weight", Values("model.norm.weight", Hidden).Select(v => 1 + v / 4).ToArray(), Hidden);
        store.Add("lm_head.weight", Values("lm_head.weight", Vocab * Hidden), Vocab, Hidden);
        string path = Path.Combine(folder, name + ".safetensors");
        SafetensorsWriter.Copy(store, path);
        return path;
    }

    private static (string Model, string Base) Pair()
    {
        string dir = SharedData.TempFolder();
        string b = Model(dir, "base", 1);
        return (Model(dir, "ft", 2, b), b);
    }

    private static byte[] Bytes(Action<Stream> write)
    {
        using var stream = new MemoryStream();
        write(stream);
        return stream.ToArray();
    }

    private static string[] WriteParts(int count, Func<ShardSpec, PartFile> analyze)
    {
        string dir = SharedData.TempFolder();
        return Enumerable.Range(1, count).Select(i =>
        {
            string path = Path.Combine(dir, $"part-{i}.json");
            analyze(new ShardSpec(i, count)).Write(path);
            return path;
        }).ToArray();
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(3, false)]
    [InlineData(6, true)]
    public void Neurons_Sharded_CombinesToTheSingleRunsJson(int shards, bool againstBase)
    {
        var (m, b) = Pair();
        using var model = Checkpoint.Open(m);
        using var baseline = againstBase ? Checkpoint.Open(b) : null;
        // Few tokens and a short "changed most" list, so the ranking over all layers picks from several shards.
        var options = new NeuronDecodingOptions { TopK = 3, MostChanged = 7 };
        var single = NeuronDecoder.Decode(model, baseline, options, null, TestContext.Current.CancellationToken);
        byte[] expected = Bytes(s => NeuronsJson.Write(single, null, s));

        var parts = WriteParts(shards, spec => NeuronShards.AnalyzeShard(model, baseline, options, spec, cancellationToken: TestContext.Current.CancellationToken));
        var combined = NeuronShards.Combine(PartCombiner.Combine(parts));
        Assert.Equal(expected, Bytes(s => NeuronsJson.Write(combined, null, s)));
        Assert.Equal(againstBase ? 7 : 0, combined.MostChanged.Count);
    }

    [Fact]
    public void Neurons_Plan_CostIsVocabularyTimesElements_AndBalances()
    {
        var (m, _) = Pair();
        using var model = Checkpoint.Open(m);
        // down_proj of layer 0 is [16, 48]; the unembedding has 32 rows: 32·16·48 multiply-adds.
        Assert.Equal(32.0 * 16 * 48, NeuronShards.Cost(model.GetInfo("model.layers.0.mlp.down_proj.weight"), Vocab));
        // Costs 48, 24, 24, 12 (× 512) on two shards, LPT: 48 → 0; 24, 24 → 1 (48); 12 → the equal load with fewer items, 0.
        var plan = NeuronShards.Plan(model, new NeuronDecodingOptions(), 2);
        Assert.Equal([32.0 * 16 * 60, 32.0 * 16 * 48], plan.Loads);
        Assert.Equal([0, 1, 1, 0], Enumerable.Range(0, 4).Select(l => plan.ShardOf($"model.layers.{l}.mlp.down_proj.weight")));
        // --layer leaves one work item.
        Assert.Equal([32.0 * 16 * 24, 0], NeuronShards.Plan(model, new NeuronDecodingOptions { Layer = 2 }, 2).Loads);
    }

    [Fact]
    public void Neurons_PartsOfOtherModelsOrOptions_AreRefused()
    {
        var (m, b) = Pair();
        using var model = Checkpoint.Open(m);
        using var baseline = Checkpoint.Open(b);
        string dir = SharedData.TempFolder();
        var options = new NeuronDecodingOptions { TopK = 3 };
        string Write(string name, TensorStore store, NeuronDecodingOptions o, int number)
        {
            string path = Path.Combine(dir, name);
            NeuronShards.AnalyzeShard(store, null, o, new ShardSpec(number, 2), cancellationToken: TestContext.Current.CancellationToken).Write(path);
            return path;
        }
        string first = Write("1.json", model, options, 1);
        var e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([first, Write("2m.json", baseline, options, 2)]));
        Assert.Contains("models '", e.Message);
        e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([first, Write("2o.json", model, options with { TopK = 4 }, 2)]));
        Assert.Contains("options 'top_k=4", e.Message);
        e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([first]));
        Assert.Contains("1 of 2 shards have no part: 2/2", e.Message);
    }

    [Fact]
    public void Neurons_TruncatedLogits_AreRefusedNamingTheTensor()
    {
        var (m, _) = Pair();
        using var model = Checkpoint.Open(m);
        var part = NeuronShards.AnalyzeShard(model, null, new NeuronDecodingOptions { TopK = 2 }, ShardSpec.Whole, cancellationToken: TestContext.Current.CancellationToken);
        var logits = part.Items["model.layers.1.mlp.down_proj.weight"]["logits"]!.AsArray();
        logits.RemoveAt(logits.Count - 1);
        string path = Path.Combine(SharedData.TempFolder(), "p.json");
        part.Write(path);
        var e = Assert.Throws<InvalidPartException>(() => NeuronShards.Combine(PartCombiner.Combine([path])));
        Assert.Contains("tensor 'model.layers.1.mlp.down_proj.weight': 'logits' has 47 values, expected 48", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Outliers_Sharded_CombinesToTheSingleRunsJson(int shards)
    {
        var (m, _) = Pair();
        using var model = Checkpoint.Open(m);
        var options = new OutlierScanOptions { TopPerMatrix = 4 };
        var single = OutlierScan.Scan(model, options, null, TestContext.Current.CancellationToken);
        byte[] expected = Bytes(s => OutliersJson.Write(m, single, Ranked(single).Take(6).ToList(), null, s));

        var parts = WriteParts(shards, spec => OutlierShards.AnalyzeShard(model, m, options, 6, spec, cancellationToken: TestContext.Current.CancellationToken));
        var (name, matrices, listed) = OutlierShards.Combine(PartCombiner.Combine(parts));
        Assert.Equal(6, listed);
        Assert.Equal(expected, Bytes(s => OutliersJson.Write(name, matrices, Ranked(matrices).Take(listed).ToList(), null, s)));
    }

    private static IEnumerable<WeightOutlier> Ranked(IReadOnlyList<MatrixOutliers> matrices) =>
        matrices.SelectMany(x => x.Outliers).OrderByDescending(o => o.RatioToRms).ThenBy(o => o.Tensor, StringComparer.Ordinal);

    [Fact]
    public void Outliers_Plan_CostIsElements()
    {
        var (m, _) = Pair();
        using var model = Checkpoint.Open(m);
        Assert.Equal(16.0 * 48, OutlierShards.Cost(model.GetInfo("model.layers.0.mlp.up_proj.weight")));
        // 10 matrices (embeddings, lm_head, 4 × up and down): 2·512 + 2·(768 + 384 + 384 + 192) = 4480 elements.
        var plan = OutlierShards.Plan(model, new OutlierScanOptions(), 3);
        Assert.Equal(4480, plan.Loads.Sum());
        Assert.True(plan.Loads.Max() - plan.Loads.Min() <= 512, string.Join(", ", plan.Loads));
    }
}
