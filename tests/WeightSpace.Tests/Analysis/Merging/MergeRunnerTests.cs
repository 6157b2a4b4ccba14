using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Planning;
using static WeightSpace.Tests.Analysis.Merging.MergeTestKit;

namespace WeightSpace.Tests.Analysis.Merging;

public class MergeRunnerTests
{
    private static Dictionary<string, TensorStore> Decoders(params string[] names) =>
        names.Select((n, i) => (n, (TensorStore)FakeModels.Decoder(n, 3, i * 0.5f))).ToDictionary(p => p.n, p => p.Item2);

    private static MergeConfig DareTies(ulong seed) => new MergeConfigBuilder("dare_ties").WithBase("base").WithSeed(seed)
        .AddModel("a", new Dictionary<string, double> { ["weight"] = 0.6, ["density"] = 0.5 })
        .AddModel("b", new Dictionary<string, double> { ["weight"] = 0.4, ["density"] = 0.5 }).Build();

    [Fact]
    public void Run_ParallelAndSerial_GiveIdenticalRandomMerges()
    {
        var stores = Decoders("base", "a", "b");
        var plan = MergePlan.Create(DareTies(5), stores);
        var serial = new CollectingSink();
        var parallel = new CollectingSink();
        MergeRunner.Run(plan, serial, maxParallelism: 1, ct: TestContext.Current.CancellationToken);
        MergeRunner.Run(MergePlan.Create(DareTies(5), stores), parallel, maxParallelism: 3, ct: TestContext.Current.CancellationToken);
        Assert.Equal(plan.Outputs.Count(o => o.DType.IsFloatingPoint()), serial.Floats.Count);
        foreach (var (name, values) in serial.Floats) Assert.Equal(values, parallel.Floats[name]);
        var other = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(DareTies(6), stores), other, ct: TestContext.Current.CancellationToken);
        Assert.Contains(serial.Floats.Keys, k => !serial.Floats[k].SequenceEqual(other.Floats[k]));
    }

    [Fact]
    public void Create_SeedOverride_ReplacesConfigSeed()
    {
        var stores = Decoders("base", "a", "b");
        var fromConfig = new CollectingSink();
        var overridden = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(DareTies(9), stores), fromConfig, ct: TestContext.Current.CancellationToken);
        MergeRunner.Run(MergePlan.Create(DareTies(1), stores, seed: 9), overridden, ct: TestContext.Current.CancellationToken);
        foreach (var (name, values) in fromConfig.Floats) Assert.Equal(values, overridden.Floats[name]);
    }

    [Fact]
    public void Run_IntegerTensor_IsCopiedVerbatimFromBase()
    {
        var stores = Decoders("base", "a", "b");
        var sink = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(DareTies(1), stores), sink, ct: TestContext.Current.CancellationToken);
        // 2^40 would not survive a float32 round trip.
        Assert.Equal(stores["base"].Read("model.position_ids").Bytes.ToArray(), sink.Raw["model.position_ids"]);
    }

    [Fact]
    public void Run_Progress_CountsEveryTensorAndByte()
    {
        var plan = MergePlan.Create(DareTies(1), Decoders("base", "a", "b"));
        var reports = new List<MergeProgress>();
        MergeRunner.Run(plan, new CollectingSink(), 1, new SynchronousProgress(reports.Add), ct: TestContext.Current.CancellationToken);
        Assert.Equal(plan.Tensors.Count, reports.Count);
        Assert.Equal(plan.Outputs.Sum(o => o.ByteCount), reports[^1].BytesDone);
        // Largest working set: the 5×3 embedding with base + 2 models + output.
        Assert.Equal(15 * 4, plan.PeakWorkingElements);
    }

    [Fact]
    public void Run_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var plan = MergePlan.Create(DareTies(1), Decoders("base", "a", "b"));
        Assert.ThrowsAny<OperationCanceledException>(() => MergeRunner.Run(plan, new CollectingSink(), 2, null, cts.Token));
    }

    [Fact]
    public void Run_TiesPaperSemantics_TrimsAgainstWholeModel()
    {
        // One model; τ of tensor x = [10, 9], of y = [1, 0.5]; density 0.5.
        // mergekit trims per tensor: x → [10, 0], y → [1, 0]. The paper keeps the top half of the whole model: x → [10, 9], y → [0, 0].
        var stores = new Dictionary<string, TensorStore>
        {
            ["base"] = Store("base", ("x", [0f, 0f], [2]), ("y", [0f, 0f], [2])),
            ["ft"] = Store("ft", ("x", [10f, 9f], [2]), ("y", [1f, 0.5f], [2])),
        };
        MergeConfig Config(string semantics) => new MergeConfigBuilder("ties").WithBase("base")
            .AddModel("ft", new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.5 })
            .Set("semantics", ParameterSetting.Of(semantics)).Build();
        var mk = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(Config("mergekit"), stores), mk, ct: TestContext.Current.CancellationToken);
        var paper = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(Config("paper"), stores), paper, ct: TestContext.Current.CancellationToken);
        Assert.Equal([10f, 0], mk.Floats["x"]);
        Assert.Equal([1f, 0], mk.Floats["y"]);
        Assert.Equal([10f, 9], paper.Floats["x"]);
        Assert.Equal([0f, 0], paper.Floats["y"]);
    }

    [Fact]
    public void Run_MethodFailure_NamesTheTensor()
    {
        // multislerp of two opposite task vectors has no mean direction... with three inputs it must fail, naming the tensor.
        var stores = new Dictionary<string, TensorStore>
        {
            ["a"] = Store("a", ("w", [1f, 0f], [2])),
            ["b"] = Store("b", ("w", [-1f, 0f], [2])),
            ["c"] = Store("c", ("w", [0f, 0f], [2])),
        };
        var config = new MergeConfigBuilder("multislerp").AddModel("a", new Dictionary<string, double> { ["weight"] = 1 })
            .AddModel("b", new Dictionary<string, double> { ["weight"] = 1 }).AddModel("c", new Dictionary<string, double> { ["weight"] = 1 }).Build();
        var ex = Assert.Throws<WeightSpaceException>(() => MergeRunner.Run(MergePlan.Create(config, stores), new CollectingSink(), ct: TestContext.Current.CancellationToken));
        Assert.Contains("'w'", ex.Message);
    }

    private sealed class SynchronousProgress(Action<MergeProgress> report) : IProgress<MergeProgress>
    {
        public void Report(MergeProgress value) => report(value);
    }
}
