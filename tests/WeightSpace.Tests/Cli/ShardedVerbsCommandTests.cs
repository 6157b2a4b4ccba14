using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Cli;

/// <summary><c>diff</c> and <c>lora extract</c> with <c>--shard I/N --part F</c>, joined by <c>combine</c>: the same
/// output as one run; bad input in one line.</summary>
public sealed class ShardedVerbsCommandTests
{
    private static (string Base, string FineTuned) Models()
    {
        string dir = SharedData.TempFolder();
        var random = new Random(11);
        using var b = new InMemoryTensorStore();
        using var f = new InMemoryTensorStore();
        foreach (var (name, rows, cols) in new[] { ("model.layers.0.mlp.up_proj", 32, 16), ("model.layers.0.mlp.down_proj", 16, 32), ("model.layers.1.self_attn.q_proj", 16, 16) })
        {
            var w = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            b.Add(name + ".weight", w, rows, cols);
            f.Add(name + ".weight", w.Select((x, i) => x + 0.01f * (i % 7 - 3) * (i / cols % 3)).ToArray(), rows, cols);
        }
        b.Add("model.norm.weight", Enumerable.Repeat(1f, 16).ToArray(), 16);
        f.Add("model.norm.weight", Enumerable.Range(0, 16).Select(i => 1f + 0.01f * i).ToArray(), 16);
        string basePath = Path.Combine(dir, "base.safetensors"), ftPath = Path.Combine(dir, "ft.safetensors");
        SafetensorsWriter.Copy(b, basePath);
        SafetensorsWriter.Copy(f, ftPath);
        return (basePath, ftPath);
    }

    [Fact]
    public void Diff_ThreeShards_CombineWritesTheSingleRunsJson()
    {
        var (b, f) = Models();
        var single = CliRunner.Run("diff", b, f, "--json", "--top", "3");
        Assert.True(single.ExitCode == 0, single.Stderr);
        string dir = SharedData.TempFolder();
        var parts = Enumerable.Range(1, 3).Select(i => Path.Combine(dir, $"p{i}.json")).ToArray();
        for (int i = 0; i < 3; i++)
        {
            var r = CliRunner.Run("diff", b, f, "--top", "3", "--shard", $"{i + 1}/3", "--part", parts[i]);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        string result = Path.Combine(dir, "result.json");
        var combined = CliRunner.Run(["combine", .. parts, "-o", result]);
        Assert.True(combined.ExitCode == 0, combined.Stderr);
        Assert.Equal(single.Stdout, File.ReadAllText(result));
    }

    [Fact]
    public void LoraExtract_RealFineTune_TwoShards_CombineWritesTheSingleRunsAdapter()
    {
        string b = SharedData.RequireModel("llm/base"), f = SharedData.Require("llm/ft-python");
        string single = Path.Combine(SharedData.TempFolder(), "single");
        var s = CliRunner.Run("lora", "extract", b, f, "--rank", "8", "-o", single);
        Assert.True(s.ExitCode == 0, s.Stderr);
        string dir = SharedData.TempFolder();
        var parts = new[] { Path.Combine(dir, "a.json"), Path.Combine(dir, "b.json") };
        for (int i = 0; i < 2; i++)
        {
            var r = CliRunner.Run("lora", "extract", b, f, "--rank", "8", "--shard", $"{i + 1}/2", "--part", parts[i]);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        string combined = Path.Combine(SharedData.TempFolder(), "combined");
        var c = CliRunner.Run(["combine", .. parts, "-o", combined]);
        Assert.True(c.ExitCode == 0, c.Stderr);
        Assert.Contains("29 LoRA modules", c.Stdout);
        foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(single, file)), File.ReadAllBytes(Path.Combine(combined, file)));
    }

    [Fact]
    public void BadInput_OneLineErrors()
    {
        var (b, f) = Models();
        string dir = SharedData.TempFolder();
        static void Expect(string[] args, int code, string message) => CliRunner.ExpectOneLineError(args, code, message);
        Expect(["diff", b, f, "--shard", "3/2", "--part", Path.Combine(dir, "x.json")], 2, "the shard number 3 is out of range 1..2");
        Expect(["diff", b, f, "--shard", "1/2"], 2, "--shard needs --part");
        Expect(["diff", b, f, "--shard", "1/2", "--part", Path.Combine(dir, "x.json"), "--json"], 2, "--shard writes a part");
        Expect(["lora", "extract", b, f, "--shard", "1/2", "--part", Path.Combine(dir, "x.json"), "-o", dir], 2, "--shard writes a part");
        Expect(["lora", "extract", b, f], 2, "'--output' is required");

        string d1 = Path.Combine(dir, "d1.json"), d2 = Path.Combine(dir, "d2.json"), l2 = Path.Combine(dir, "l2.json");
        Assert.Equal(0, CliRunner.Run("diff", b, f, "--shard", "1/2", "--part", d1).ExitCode);
        Assert.Equal(0, CliRunner.Run("diff", f, b, "--shard", "2/2", "--part", d2).ExitCode);
        Assert.Equal(0, CliRunner.Run("lora", "extract", b, f, "--shard", "2/2", "--part", l2).ExitCode);
        Expect(["combine", d1, d2, "-o", Path.Combine(dir, "r.json")], 1, "models '");
        Expect(["combine", d1, l2, "-o", Path.Combine(dir, "r.json")], 1, "verb 'lora-extract' differs from 'diff'");
        Expect(["combine", d1, "-o", Path.Combine(dir, "r.json")], 1, "1 of 2 shards have no part: 2/2");
        string l1 = Path.Combine(dir, "l1.json");
        Assert.Equal(0, CliRunner.Run("lora", "extract", b, f, "--shard", "1/1", "--part", l1).ExitCode);
        Expect(["combine", l1, "-o", Path.Combine(dir, "r"), "--report", Path.Combine(dir, "r.html")], 2, "have no HTML report");
        Assert.False(File.Exists(Path.Combine(dir, "r.json")));
    }

    [Fact]
    public void Slurm_DryRun_DiffAndLoraExtract()
    {
        var (b, f) = Models();
        string run = Path.Combine(SharedData.TempFolder(), "run");
        string ws = Path.Combine(AppContext.BaseDirectory, "weightspace");
        var diff = CliRunner.Run("slurm", "diff", b, f, "--top", "4", "--array", "3", "-o", run, "--dry-run", "--weightspace", ws);
        Assert.True(diff.ExitCode == 0, diff.Stderr);
        Assert.Contains("#SBATCH --job-name=ws-diff", diff.Stdout);
        Assert.Contains($"diff {b} {f} --top 4 --shard \"$((k + 1))/$n\" --part \"$part\"", diff.Stdout);
        Assert.Contains($"combine --expect 3 --logs {run}/logs -o {run}/result.json", diff.Stdout);

        var lora = CliRunner.Run("slurm", "lora-extract", b, f, "--rank", "4", "--array", "2", "--cpus-per-task", "2", "-o", run, "--dry-run", "--weightspace", ws);
        Assert.True(lora.ExitCode == 0, lora.Stderr);
        Assert.Contains("#SBATCH --job-name=ws-lora-extract", lora.Stdout);
        Assert.Contains($"lora extract {b} {f} --rank 4 --shard", lora.Stdout);
        Assert.DoesNotContain("--threads", lora.Stdout);
        Assert.Contains($"-o {run}/adapter --force", lora.Stdout);
        Assert.False(Directory.Exists(run));

        var bad = CliRunner.Run("slurm", "lora-extract", b, f, "--array", "2", "-o", run, "--report", "x.html", "--dry-run");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("has no --report", bad.Stderr);
    }
}
