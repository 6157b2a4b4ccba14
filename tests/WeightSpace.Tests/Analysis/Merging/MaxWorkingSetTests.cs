using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Kernels;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Analysis.Merging.Planning;
using WeightSpace.Formats;
using static WeightSpace.Tests.Analysis.Merging.MergeTestKit;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary><c>--max-ram</c>: a cap the largest tensor fits gives the uncapped output; a smaller one is refused, naming
/// the tensor and the bytes it needs, before anything is written.</summary>
public sealed class MaxWorkingSetTests
{
    private static string Digits(string name) => SharedData.Require($"digits_mlp/mlp_{name}.safetensors");

    private static MergeConfig Ties() => new MergeConfigBuilder("ties").WithBase("base")
        .AddModel("a", new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.5 })
        .AddModel("b", new Dictionary<string, double> { ["weight"] = 0.7, ["density"] = 0.3 }).Build();

    private static Dictionary<string, TensorStore> OpenDigits() => new()
    {
        ["base"] = Checkpoint.Open(Digits("seed0")), ["a"] = Checkpoint.Open(Digits("ft_fliplr")), ["b"] = Checkpoint.Open(Digits("ft_invert")),
    };

    // fc2.weight is F32 [128, 128]: three mapped 64 KiB inputs plus one 64 KiB output block (it is smaller than a chunk).
    private const long Fc2Need = 3 * 128 * 128 * 4 + 128 * 128 * 4;

    [Fact]
    public void WorkingSetBytes_DigitsTies_IsLargestTensorsInputsPlusOneBlock()
    {
        var stores = OpenDigits();
        try { Assert.Equal(Fc2Need, MergeRunner.WorkingSetBytes(MergePlan.Create(Ties(), stores))); }
        finally { foreach (var s in stores.Values) s.Dispose(); }
    }

    [Fact]
    public void Run_CapAtLargestWorkingSet_EqualsUncappedMerge()
    {
        var stores = OpenDigits();
        try
        {
            var free = new CollectingSink();
            MergeRunner.Run(MergePlan.Create(Ties(), stores), free, maxParallelism: 3, ct: TestContext.Current.CancellationToken);
            var capped = new CollectingSink();
            MergeRunner.Run(MergePlan.Create(Ties(), stores), capped, maxParallelism: 3, maxWorkingSetBytes: MergeRunner.WorkingSetBytes(MergePlan.Create(Ties(), stores)),
                ct: TestContext.Current.CancellationToken);
            Assert.Equal(free.Floats.Keys.Order(), capped.Floats.Keys.Order());
            foreach (var (name, values) in free.Floats) Assert.Equal(values, capped.Floats[name]);
        }
        finally { foreach (var s in stores.Values) s.Dispose(); }
    }

    [Fact]
    public void Write_CapBelowLargestTensor_ThrowsNamingTensorAndWritesNothing()
    {
        var stores = OpenDigits();
        string dir = SharedData.TempFolder();
        string output = Path.Combine(dir, "out");
        try
        {
            var plan = MergePlan.Create(Ties(), stores);
            var ex = Assert.Throws<WeightSpaceException>(() => MergeDirectory.Write(plan, output, new MergeDirectoryOptions { MaxWorkingSetBytes = Fc2Need - 1 },
                ct: TestContext.Current.CancellationToken));
            Assert.Contains("'fc2.weight'", ex.Message);
            Assert.Contains($"needs {Fc2Need} bytes", ex.Message);
            Assert.False(Directory.Exists(output));
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
            var sink = new CollectingSink();
            Assert.Throws<WeightSpaceException>(() => MergeRunner.Run(plan, sink, 2, Fc2Need - 1, ct: TestContext.Current.CancellationToken));
            Assert.Empty(sink.Floats);
        }
        finally { foreach (var s in stores.Values) s.Dispose(); }
    }

    [Fact]
    public async Task MemoryBudget_SecondRequestOverCapacity_WaitsForRelease()
    {
        // The gate behind the cap: 6 + 6 > 10, so the second worker waits until the first releases.
        var ct = TestContext.Current.CancellationToken;
        var budget = new MemoryBudget(10);
        budget.Acquire(6, ct);
        var second = Task.Run(() => budget.Acquire(6, ct), ct);
        var first = await Task.WhenAny(second, Task.Delay(300, ct));
        Assert.NotSame(second, first);
        budget.Release(6);
        await second.WaitAsync(TimeSpan.FromSeconds(30), ct);
        budget.Acquire(4, ct);   // 6 + 4 fits beside it
        budget.Release(4);
        budget.Release(6);
    }
}
