using WeightSpace.Cli;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Cli;

/// <summary>The exit-code contract (0 ok, 1 bad input, 2 usage, 3 internal error) and messages that name the option
/// or file the user typed.</summary>
public sealed class ExitCodeTests
{
    private static string TinyModel(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        using var store = new InMemoryTensorStore().Add("w", [1f, 2f, 3f, 4f], 2, 2);
        SafetensorsWriter.Copy(store, path);
        return path;
    }

    [Fact]
    public void Merge_BadOutDType_NamesOutDTypeAndExitsTwo()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("merge", "--method", "linear", "--models", TinyModel(dir, "a.safetensors"), TinyModel(dir, "b.safetensors"),
            "--out-dtype", "int4", "-o", Path.Combine(dir, "out"));
        Assert.Equal(WeightSpaceCommandLine.UsageError, r.ExitCode);
        Assert.Contains("--out-dtype 'int4' is not one of f32, f16, bf16, f64", r.Stderr);
        Assert.DoesNotContain("--dtype 'int4'", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void Diff_MissingModel_NamesTheFileNotAMergeConfig()
    {
        string dir = SharedData.TempFolder();
        string missing = Path.Combine(dir, "missing.safetensors");
        var r = CliRunner.Run("diff", missing, TinyModel(dir, "b.safetensors"));
        Assert.Equal(WeightSpaceCommandLine.BadInput, r.ExitCode);
        Assert.Contains("missing.safetensors", r.Stderr);
        Assert.DoesNotContain("merge config", r.Stderr);
        Assert.DoesNotContain("'model'", r.Stderr);
    }

    [Fact]
    public void Merge_MissingModel_StillReportsTheConfigKey()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("merge", "--method", "linear", "--models", TinyModel(dir, "a.safetensors"), Path.Combine(dir, "gone.safetensors"),
            "-o", Path.Combine(dir, "out"));
        Assert.Equal(WeightSpaceCommandLine.BadInput, r.ExitCode);
        Assert.Contains("gone.safetensors", r.Stderr);
        Assert.Contains("not found", r.Stderr);
    }

    [Theory]
    [InlineData("--shard-size", "5XB", "--shard-size '5XB'")]
    [InlineData("--shard-size", "0", "--shard-size '0'")]
    [InlineData("--threads", "0", "--threads 0 must be between 1 and 256")]
    [InlineData("--threads", "999", "--threads 999 must be between 1 and 256")]
    public void Merge_BadSharedOption_NamesItAndExitsTwo(string option, string value, string message)
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("merge", "--method", "linear", "--models", TinyModel(dir, "a.safetensors"), option, value, "-o", Path.Combine(dir, "out"));
        Assert.Equal(WeightSpaceCommandLine.UsageError, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void TaskVec_BadShardSize_NamesItsOwnOption()
    {
        string dir = SharedData.TempFolder();
        string a = TinyModel(dir, "a.safetensors");
        var r = CliRunner.Run("taskvec", "add", a, a, "--shard-size", "lots", "-o", Path.Combine(dir, "out"));
        Assert.Equal(WeightSpaceCommandLine.UsageError, r.ExitCode);
        Assert.Contains("--shard-size 'lots' is not a size", r.Stderr);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Guard_UnexpectedException_ExitsThreeAndAsksForAReport(bool verbose)
    {
        var stderr = new StringWriter();
        var context = new CliContext(new StringWriter(), stderr) { Verbose = verbose };
        int code = WeightSpaceCommandLine.Guard(context, () => throw new InvalidOperationException("boom"));
        Assert.Equal(WeightSpaceCommandLine.InternalError, code);
        Assert.Equal(3, code);
        string text = stderr.ToString();
        Assert.Contains("internal error: InvalidOperationException: boom", text);
        Assert.Contains("please report", text);
        Assert.Equal(verbose, text.Contains("   at ", StringComparison.Ordinal));
        if (!verbose) Assert.Contains("--verbose", text);
    }

    [Fact]
    public void Guard_BadInputAndUsage_KeepTheirCodes()
    {
        var context = new CliContext(new StringWriter(), new StringWriter());
        Assert.Equal(1, WeightSpaceCommandLine.Guard(context, () => throw new InvalidCheckpointException("x.safetensors", null, "bad")));
        Assert.Equal(1, WeightSpaceCommandLine.Guard(context, () => throw new FileNotFoundException("gone")));
        Assert.Equal(2, WeightSpaceCommandLine.Guard(context, () => throw new UsageException("--x 1: no")));
        Assert.Equal(130, WeightSpaceCommandLine.Guard(context, () => throw new OperationCanceledException()));
        Assert.Equal(0, WeightSpaceCommandLine.Guard(context, () => WeightSpaceCommandLine.Ok));
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("5B", 5_000_000_000L)]       // mergekit's --out-shard-size 5B: B is a billion
    [InlineData("2GB", 2_000_000_000L)]
    [InlineData("2G", 2_000_000_000L)]
    [InlineData("500MB", 500_000_000L)]
    [InlineData("512MiB", 536_870_912L)]
    [InlineData("1.5GiB", 1_610_612_736L)]
    [InlineData("1KiB", 1024L)]
    [InlineData("3K", 3000L)]
    [InlineData("1TB", 1_000_000_000_000L)]
    public void Sizes_UseMergekitUnits(string text, long bytes) => Assert.Equal(bytes, CliValues.ParseSize("--shard-size", text));

    [Theory]
    [InlineData("")]
    [InlineData("GB")]
    [InlineData("-1GB")]
    [InlineData("2 XB")]
    [InlineData("0.1")]
    [InlineData("99999999999TB")]
    public void Sizes_Bad_NameTheOption(string text)
    {
        var e = Assert.Throws<UsageException>(() => CliValues.ParseSize("--out-shard-size", text));
        Assert.StartsWith("--out-shard-size", e.Message);
    }

    [Fact]
    public void OpenedModels_ClosesEveryStoreAndReportsAllMissingTogether()
    {
        string dir = SharedData.TempFolder();
        string a = TinyModel(dir, "a.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => OpenedModels.Open([a, Path.Combine(dir, "x.safetensors"), Path.Combine(dir, "y.safetensors")]));
        Assert.Contains("x.safetensors", e.Message);
        Assert.Contains("y.safetensors", e.Message);
        TensorStore store;
        using (var models = OpenedModels.Open([a])) store = models[a];
        Assert.Throws<ObjectDisposedException>(() => store.Read("w"));
    }
}
