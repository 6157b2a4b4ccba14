using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Analysis.Merging;

public sealed class MergeDirectoryTests
{
    private sealed class CancelAfterFirst(CancellationTokenSource cts) : IProgress<MergeProgress>
    {
        public void Report(MergeProgress value) => cts.Cancel();
    }

    private static MergePlan Plan()
    {
        var a = new InMemoryTensorStore("a");
        var b = new InMemoryTensorStore("b");
        for (int layer = 0; layer < 6; layer++)
        {
            a.Add($"layers.{layer}.w", [1f, 2f, 3f, 4f], 2, 2);
            b.Add($"layers.{layer}.w", [3f, 2f, 1f, 0f], 2, 2);
        }
        var config = new MergeConfigBuilder("linear").AddModel("a", new Dictionary<string, double> { ["weight"] = 1 })
            .AddModel("b", new Dictionary<string, double> { ["weight"] = 1 }).Build();
        return MergePlan.Create(config, new Dictionary<string, TensorStore> { ["a"] = a, ["b"] = b });
    }

    [Fact]
    public void Write_CancelledMidRun_LeavesNoDirectory()
    {
        string dir = SharedData.TempFolder();
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            MergeDirectory.Write(Plan(), Path.Combine(dir, "out"), new MergeDirectoryOptions { MaxParallelism = 1 }, new CancelAfterFirst(cts), cts.Token));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Write_CancelledWhileOverwriting_KeepsTheOldDirectory()
    {
        string dir = SharedData.TempFolder();
        string outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "old.txt"), "old");
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            MergeDirectory.Write(Plan(), outDir, new MergeDirectoryOptions { Overwrite = true, MaxParallelism = 1 }, new CancelAfterFirst(cts), cts.Token));
        Assert.Equal(["out"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));
        Assert.Equal("old", File.ReadAllText(Path.Combine(outDir, "old.txt")));
    }

    [Fact]
    public void Write_Completed_WritesMeanOfModels()
    {
        string dir = SharedData.TempFolder();
        var files = MergeDirectory.Write(Plan(), Path.Combine(dir, "out"), new MergeDirectoryOptions { Metadata = new Dictionary<string, string> { ["k"] = "v" } }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(["model.safetensors"], files);
        using var store = WeightSpace.Formats.Checkpoint.Open(Path.Combine(dir, "out"));
        Assert.Equal([2f, 2f, 2f, 2f], store.ReadSingle("layers.3.w"));   // (a + b) / 2, normalised linear
        Assert.Equal("v", store.Metadata["k"]);
        Assert.Equal("pt", store.Metadata["format"]);
    }
}
