using WeightSpace.Tests.Analysis.Merging;
using System.Text.Json;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Formats;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Cli;

public sealed class MergeCommandTests
{
    private static string Digits(string name) => SharedData.Require($"digits_mlp/mlp_{name}.safetensors");

    private static string TiesYaml() => $"""
        merge_method: ties
        base_model: "{Digits("seed0")}"
        models:
          - model: "{Digits("ft_fliplr")}"
            parameters: {"{"}weight: 1.0, density: 0.5{"}"}
          - model: "{Digits("ft_invert")}"
            parameters: {"{"}weight: 0.7, density: 0.3{"}"}
        parameters:
          lambda: 0.9
        """;

    private static Dictionary<string, float[]> ReadAll(string path)
    {
        using var store = Checkpoint.Open(path);
        return store.Tensors.ToDictionary(t => t.Name, t => store.ReadSingle(t.Name));
    }

    private static void AssertSame(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected) Assert.Equal(values, actual[name]);
    }

    [Fact]
    public void Merge_YamlOnDigits_WritesWhatTheRunnerComputesInProcess()
    {
        string dir = SharedData.TempFolder();
        string config = Path.Combine(dir, "ties.yml");
        File.WriteAllText(config, TiesYaml());
        var r = CliRunner.Run("merge", config, "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);

        var parsed = MergeConfig.Parse(TiesYaml());
        var stores = parsed.ReferencedModels().ToDictionary(m => m, m => Checkpoint.Open(m));
        var sink = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(parsed, stores), sink, ct: TestContext.Current.CancellationToken);
        foreach (var s in stores.Values) s.Dispose();

        string file = Path.Combine(dir, "out", "model.safetensors");
        AssertSame(sink.Floats.ToDictionary(p => p.Key, p => p.Value), ReadAll(file));
        using var merged = Checkpoint.Open(file);
        Assert.Equal("ties", merged.Metadata["weightspace.merge_method"]);
        Assert.Contains("density: 0.3", merged.Metadata["weightspace.merge_config"]);
        Assert.Equal(["out", "ties.yml"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Merge_OneLiner_EqualsYamlPath()
    {
        string dir = SharedData.TempFolder();
        File.WriteAllText(Path.Combine(dir, "ties.yml"), TiesYaml());
        Assert.Equal(0, CliRunner.Run("merge", Path.Combine(dir, "ties.yml"), "-o", Path.Combine(dir, "yaml")).ExitCode);
        var r = CliRunner.Run("merge", "--method", "ties", "--base", Digits("seed0"), "--models", Digits("ft_fliplr"), Digits("ft_invert"),
            "--weight", "1", "0.7", "--density", "0.5", "0.3", "--lambda", "0.9", "-o", Path.Combine(dir, "flags"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var yaml = ReadAll(Path.Combine(dir, "yaml", "model.safetensors"));
        AssertSame(yaml, ReadAll(Path.Combine(dir, "flags", "model.safetensors")));
        // And the merge did something: fc1.weight is neither the base nor a fine-tune.
        using var seed0 = Checkpoint.Open(Digits("seed0"));
        Assert.NotEqual(seed0.ReadSingle("fc1.weight"), yaml["fc1.weight"]);
    }

    [Fact]
    public void Merge_UnknownParameter_StrictExit1NamesKeyAndWritesNothing()
    {
        string dir = SharedData.TempFolder();
        string config = Path.Combine(dir, "bad.yml");
        File.WriteAllText(config, TiesYaml().Replace("lambda: 0.9", "lambda: 0.9\n  densty: 0.5", StringComparison.Ordinal));
        var r = CliRunner.Run("merge", config, "-o", Path.Combine(dir, "out"), "--strict");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("densty", r.Stderr);
        Assert.Equal(["bad.yml"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Merge_UnknownParameter_WarnsOnceWithLineAndMergesAsMergekit()
    {
        // mergekit reads only the parameters a method declares, so a stray one changes nothing: one warning, same output.
        string dir = SharedData.TempFolder();
        File.WriteAllText(Path.Combine(dir, "ok.yml"), TiesYaml());
        File.WriteAllText(Path.Combine(dir, "stray.yml"), TiesYaml().Replace("lambda: 0.9", "lambda: 0.9\n  densty: 0.5", StringComparison.Ordinal));
        Assert.Equal(0, CliRunner.Run("merge", Path.Combine(dir, "ok.yml"), Path.Combine(dir, "a")).ExitCode);
        var r = CliRunner.Run("merge", Path.Combine(dir, "stray.yml"), Path.Combine(dir, "b"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var warnings = r.Stderr.Split('\n').Where(l => l.StartsWith("warning:", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.Contains("line 10: 'densty'", warnings[0]);
        AssertSame(ReadAll(Path.Combine(dir, "a", "model.safetensors")), ReadAll(Path.Combine(dir, "b", "model.safetensors")));
    }

    [Fact]
    public void Merge_MissingModels_Exit1ListsThemAllAndWritesNothing()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("merge", "--method", "task_arithmetic", "--base", Digits("seed0"),
            "--models", Path.Combine(dir, "nope1.safetensors"), Path.Combine(dir, "nope2.safetensors"), "-o", Path.Combine(dir, "out"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nope1.safetensors", r.Stderr);
        Assert.Contains("nope2.safetensors", r.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Merge_ExistingOutputWithoutForce_Exit2AndUntouched_ForceReplaces()
    {
        string dir = SharedData.TempFolder();
        string outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "keep.txt"), "mine");
        string[] args = ["merge", "--method", "linear", "--models", Digits("seed0"), Digits("seed1"), "-o", outDir];
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--force", r.Stderr);
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(outDir, "keep.txt")));

        Assert.Equal(0, CliRunner.Run([.. args, "--force"]).ExitCode);
        Assert.Equal(["README.md", "mergekit_config.yml", "model.safetensors"], Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir));   // no staging or set-aside directory left
    }

    [Fact]
    public void Merge_SmallShardSize_WritesShardsIndexAndCopiesNonWeightFiles()
    {
        string dir = SharedData.TempFolder();
        string baseDir = Path.Combine(dir, "base");
        Directory.CreateDirectory(baseDir);
        File.Copy(Digits("seed0"), Path.Combine(baseDir, "model.safetensors"));
        File.WriteAllText(Path.Combine(baseDir, "config.json"), "{\"hidden\": 128}");
        File.WriteAllText(Path.Combine(baseDir, "tokenizer_config.json"), "{}");
        File.WriteAllText(Path.Combine(baseDir, "vocab.txt"), "a\nb\n");
        File.WriteAllText(Path.Combine(baseDir, "notes.md"), "not copied");
        File.Copy(SharedData.Require("digits_mlp/mlp_seed1.pt"), Path.Combine(baseDir, "tokenizer.pt"));
        string outDir = Path.Combine(dir, "out");
        var r = CliRunner.Run("merge", "--method", "task_arithmetic", "--base", baseDir, "--models", Digits("ft_fliplr"), "--shard-size", "40KB", "-o", outDir, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var files = Directory.EnumerateFiles(outDir).Select(Path.GetFileName).Order().ToList();
        Assert.Contains("model.safetensors.index.json", files);
        Assert.Contains("config.json", files);
        Assert.Contains("tokenizer_config.json", files);
        Assert.Contains("vocab.txt", files);
        Assert.DoesNotContain("notes.md", files);
        Assert.DoesNotContain("tokenizer.pt", files);   // matches tokenizer* but is a weight file
        Assert.True(files.Count(f => f!.StartsWith("model-0000", StringComparison.Ordinal)) >= 2);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(6, doc.RootElement.GetProperty("tensors").GetInt32());
        // θ₀ + τ with λ = 1, weight 1: the fine-tune itself, within one float rounding of (θ − θ₀) + θ₀.
        var merged = ReadAll(outDir);
        var ft = ReadAll(Digits("ft_fliplr"));
        foreach (var (name, v) in ft) MergeTestKit.Close(v, merged[name], 1e-6);
    }

    [Fact]
    public void Merge_BadOptionValues_Exit2()
    {
        string dir = SharedData.TempFolder();
        Assert.Equal(2, CliRunner.Run("merge", "--method", "ties", "--base", Digits("seed0"), "--models", Digits("ft_fliplr"), "--threads", "0", "-o", Path.Combine(dir, "o")).ExitCode);
        Assert.Equal(2, CliRunner.Run("merge", "--method", "ties", "--base", Digits("seed0"), "--models", Digits("ft_fliplr"), "--shard-size", "lots", "-o", Path.Combine(dir, "o")).ExitCode);
        Assert.Equal(2, CliRunner.Run("merge", "--method", "ties", "--base", Digits("seed0"), "--models", Digits("ft_fliplr"), Digits("ft_invert"), "--density", "0.5", "0.5", "0.5", "-o", Path.Combine(dir, "o")).ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Merge_MismatchedShapes_Exit1BeforeAnyOutput()
    {
        string dir = SharedData.TempFolder();
        string other = Path.Combine(dir, "other.safetensors");
        using (var w = WeightSpace.Formats.Safetensors.SafetensorsWriter.Create(other, [new TensorInfo("fc1.weight", DType.F32, new Shape(3, 2))]))
        {
            w.Write("fc1.weight", new float[6].AsSpan());
            w.Commit();
        }
        var r = CliRunner.Run("merge", "--method", "task_arithmetic", "--base", Digits("seed0"), "--models", other, "-o", Path.Combine(dir, "out"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("fc1.weight", r.Stderr);
        Assert.Contains("fc2.weight", r.Stderr);   // every problem listed, not just the first
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void Merge_MaxRam_AtMinimumMatchesUncapped_BelowIsExitOneAndNothingWritten()
    {
        // fc2.weight (F32 [128, 128]) is the largest tensor: 3 inputs of 64 KiB and one 64 KiB output block = 262144 bytes.
        string dir = SharedData.TempFolder();
        string[] Args(string output, params string[] extra) =>
            ["merge", "--method", "ties", "--base", Digits("seed0"), "--models", Digits("ft_fliplr"), Digits("ft_invert"), "--density", "0.5", "-o", output, .. extra];
        var free = CliRunner.Run(Args(Path.Combine(dir, "free")));
        Assert.True(free.ExitCode == 0, free.Stderr);
        var capped = CliRunner.Run(Args(Path.Combine(dir, "capped"), "--max-ram", "256KiB"));
        Assert.True(capped.ExitCode == 0, capped.Stderr);
        AssertSame(ReadAll(Path.Combine(dir, "free", "model.safetensors")), ReadAll(Path.Combine(dir, "capped", "model.safetensors")));
        var refused = CliRunner.Run(Args(Path.Combine(dir, "refused"), "--max-ram", "262143"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("'fc2.weight' needs 262144 bytes", refused.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "refused")));
    }
}
