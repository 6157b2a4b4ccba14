using WeightSpace.Analysis.Cluster;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Cluster;

/// <summary>The sharded runs for real: job arrays (spectrum; diff, lora extract and neurons) and their combine jobs on a
/// one-node Slurm, compared with single-process runs of the same analyses.</summary>
public sealed class SlurmRunTests
{
    /// <summary>A small checkpoint with matrices of different costs (and a vector, which is skipped), written by us.</summary>
    private static string MakeModel()
    {
        var random = new Random(42);
        var store = new InMemoryTensorStore();
        foreach (var (name, rows, cols) in new[] { ("big", 96, 64), ("mid", 64, 48), ("small.a", 40, 32), ("small.b", 32, 40), ("tiny", 24, 16) })
            store.Add(name + ".weight", Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), rows, cols);
        store.Add("norm.weight", Enumerable.Repeat(1f, 64).ToArray(), 64);
        string path = Path.Combine(SharedData.TempFolder(), "model.safetensors");
        SafetensorsWriter.Copy(store, path);
        store.Dispose();
        return path;
    }

    private static string WeightSpaceExecutable() => Path.Combine(AppContext.BaseDirectory, "weightspace");

    [Fact]
    public void ArrayOfFourShards_CombinesToTheSingleRun_AndResubmissionRedoesOnlyTheMissingShard()
    {
        using var slurm = LocalSlurm.StartOrSkip();
        string model = MakeModel();
        string run = Path.Combine(SharedData.TempFolder(), "run");
        using var _ = slurm.AsDefault();
        string[] submit = ["slurm", "spectrum", model, "--threads", "1", "--array", "4", "--cpus-per-task", "1", "-o", run,
            "--weightspace", WeightSpaceExecutable()];
        var first = CliRunner.Run(submit);
        Assert.True(first.ExitCode == 0, first.Stderr + first.Stdout);
        string combineJob = first.Stdout.Split("combine job ")[1].Split('\n')[0].Trim();
        Assert.Equal("COMPLETED", slurm.WaitForJob(combineJob, TimeSpan.FromSeconds(90)));

        var single = CliRunner.Run("spectrum", model, "--threads", "1", "--json");
        Assert.Equal(0, single.ExitCode);
        string result = Path.Combine(run, SlurmJob.ResultName);
        Assert.Equal(single.Stdout, File.ReadAllText(result));
        for (int i = 0; i < 4; i++) Assert.True(File.Exists(SlurmJob.PartPath(run, i)), $"part {i} missing");

        // Lose one shard's part and resubmit: only that shard is computed again.
        File.Delete(SlurmJob.PartPath(run, 2));
        File.Delete(result);
        var second = CliRunner.Run(submit);
        Assert.Equal(0, second.ExitCode);
        string combineAgain = second.Stdout.Split("combine job ")[1].Split('\n')[0].Trim();
        Assert.Equal("COMPLETED", slurm.WaitForJob(combineAgain, TimeSpan.FromSeconds(90)));
        Assert.Equal(single.Stdout, File.ReadAllText(result));
        for (int i = 0; i < 4; i++)
        {
            string log = File.ReadAllText(SlurmJob.LogPath(run, i));
            if (i == 2) Assert.DoesNotContain("already done", log);
            else Assert.Contains("already done", log);
        }
    }

    /// <summary>A base and a fine-tune of it (every matrix changed by uniform noise of width <paramref name="noise"/>,
    /// the norm <paramref name="norm"/> of <paramref name="hidden"/> elements changed), written by us.</summary>
    private static (string Base, string FineTuned) MakePair(int seed, (string Name, int Rows, int Cols)[] matrices, string norm, int hidden, float noise)
    {
        var random = new Random(seed);
        using var b = new InMemoryTensorStore();
        using var f = new InMemoryTensorStore();
        foreach (var (name, rows, cols) in matrices)
        {
            var w = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            b.Add(name + ".weight", w, rows, cols);
            f.Add(name + ".weight", w.Select(x => x + (float)(random.NextDouble() - 0.5) * noise).ToArray(), rows, cols);
        }
        b.Add(norm, Enumerable.Repeat(1f, hidden).ToArray(), hidden);
        f.Add(norm, Enumerable.Range(0, hidden).Select(i => 1f + 0.01f * i).ToArray(), hidden);
        string dir = SharedData.TempFolder();
        string basePath = Path.Combine(dir, "base.safetensors"), ftPath = Path.Combine(dir, "ft.safetensors");
        SafetensorsWriter.Copy(b, basePath);
        SafetensorsWriter.Copy(f, ftPath);
        return (basePath, ftPath);
    }

    /// <summary>Four matrices under plain names, for <c>diff</c> and <c>lora extract</c>.</summary>
    private static (string Base, string FineTuned) MakePair() =>
        MakePair(43, [("layers.0.up", 48, 32), ("layers.0.down", 32, 48), ("layers.1.q", 32, 32), ("layers.1.k", 16, 32)], "norm.weight", 32, 0.05f);

    /// <summary>A Llama-named pair with an unembedding, a final norm and three down projections, for <c>neurons</c>.</summary>
    private static (string Base, string FineTuned) MakeLlamaPair() =>
        MakePair(44, [("model.embed_tokens", 40, 16), ("lm_head", 40, 16), ("model.layers.0.mlp.down_proj", 16, 24), ("model.layers.1.mlp.down_proj", 16, 32),
            ("model.layers.2.mlp.down_proj", 16, 40)], "model.norm.weight", 16, 0.4f);

    [Fact]
    public void DiffLoraExtractAndNeuronsArrays_CombineToTheSingleRuns()
    {
        using var slurm = LocalSlurm.StartOrSkip();
        var (b, f) = MakePair();
        var (lb, lf) = MakeLlamaPair();
        string diffRun = Path.Combine(SharedData.TempFolder(), "diff"), loraRun = Path.Combine(SharedData.TempFolder(), "lora");
        string neuronsRun = Path.Combine(SharedData.TempFolder(), "neurons");
        using var _ = slurm.AsDefault();
        var diff = CliRunner.Run("slurm", "diff", b, f, "--array", "2", "-o", diffRun, "--weightspace", WeightSpaceExecutable());
        Assert.True(diff.ExitCode == 0, diff.Stderr + diff.Stdout);
        var lora = CliRunner.Run("slurm", "lora-extract", b, f, "--rank", "4", "--array", "3", "-o", loraRun, "--weightspace", WeightSpaceExecutable());
        Assert.True(lora.ExitCode == 0, lora.Stderr + lora.Stdout);
        var neurons = CliRunner.Run("slurm", "neurons", lf, "--against", lb, "--top", "4", "--most-changed", "10", "--array", "2", "-o", neuronsRun,
            "--weightspace", WeightSpaceExecutable());
        Assert.True(neurons.ExitCode == 0, neurons.Stderr + neurons.Stdout);
        foreach (var submitted in new[] { diff, lora, neurons })
            Assert.Equal("COMPLETED", slurm.WaitForJob(submitted.Stdout.Split("combine job ")[1].Split('\n')[0].Trim(), TimeSpan.FromSeconds(90)));

        var single = CliRunner.Run("diff", b, f, "--json");
        Assert.Equal(single.Stdout, File.ReadAllText(Path.Combine(diffRun, SlurmJob.ResultName)));
        string adapter = Path.Combine(SharedData.TempFolder(), "single");
        Assert.Equal(0, CliRunner.Run("lora", "extract", b, f, "--rank", "4", "-o", adapter).ExitCode);
        foreach (var file in new[] { "adapter_model.safetensors", "adapter_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(adapter, file)), File.ReadAllBytes(Path.Combine(loraRun, "adapter", file)));
        var decoded = CliRunner.Run("neurons", lf, "--against", lb, "--top", "4", "--most-changed", "10", "--json");
        Assert.True(decoded.ExitCode == 0, decoded.Stderr);
        Assert.Equal(decoded.Stdout, File.ReadAllText(Path.Combine(neuronsRun, SlurmJob.ResultName)));
        for (int i = 0; i < 2; i++) Assert.True(File.Exists(SlurmJob.PartPath(neuronsRun, i)), $"neurons part {i} missing");
    }

    [Fact]
    public void FailedTask_IsNamedInTheCombineStepsMessage()
    {
        using var slurm = LocalSlurm.StartOrSkip();
        string model = MakeModel();
        string run = Path.Combine(SharedData.TempFolder(), "run");
        using var _ = slurm.AsDefault();
        // Array task 1 (shard 2/2) is made to fail before WeightSpace starts.
        var submitted = CliRunner.Run("slurm", "spectrum", model, "--threads", "1", "--array", "2", "-o", run, "--weightspace", WeightSpaceExecutable(),
            "--setup", "if [ \"${SLURM_ARRAY_TASK_ID:-}\" = 1 ]; then echo 'injected failure' >&2; exit 3; fi");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr + submitted.Stdout);
        string combineJob = submitted.Stdout.Split("combine job ")[1].Split('\n')[0].Trim();
        Assert.Equal("FAILED", slurm.WaitForJob(combineJob, TimeSpan.FromSeconds(90)));
        string log = File.ReadAllText(Path.Combine(run, "logs", "combine.log"));
        Assert.Contains("1 of 2 shards have no part: 2/2", log);
        Assert.Contains(Path.Combine(run, "logs", "task-00001.log"), log);
        Assert.Contains("injected failure", File.ReadAllText(SlurmJob.LogPath(run, 1)));
    }

    [Fact]
    public void DryRun_PrintsBothScripts_AndWritesNothing()
    {
        string model = MakeModel();
        string run = Path.Combine(SharedData.TempFolder(), "run");
        var r = CliRunner.Run("slurm", "spectrum", model, "--compat", "ww", "--array", "3", "--partition", "gpu", "--time", "01:00:00",
            "--mem", "8G", "--account", "lab", "--cpus-per-task", "2", "--setup", "module load dotnet", "-o", run, "--dry-run", "--weightspace", WeightSpaceExecutable());
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("#SBATCH --array=0-2", r.Stdout);
        Assert.Contains("#SBATCH --partition=gpu", r.Stdout);
        Assert.Contains("#SBATCH --time=01:00:00", r.Stdout);
        Assert.Contains("#SBATCH --mem=8G", r.Stdout);
        Assert.Contains("#SBATCH --account=lab", r.Stdout);
        Assert.Contains("#SBATCH --cpus-per-task=2", r.Stdout);
        Assert.Contains("module load dotnet", r.Stdout);
        Assert.Contains($"spectrum {model} --compat ww --threads 2 --shard \"$((k + 1))/$n\"", r.Stdout);
        Assert.Contains("combine --expect 3", r.Stdout);
        Assert.False(Directory.Exists(run));
    }

    [Theory]
    [InlineData(new[] { "slurm", "merge", "x", "--array", "2", "-o", "r" }, 2, "'merge' cannot run as a Slurm array")]
    [InlineData(new[] { "slurm", "spectrum", "m", "--array", "0", "-o", "r" }, 2, "--array 0 must be 1 to 100000")]
    [InlineData(new[] { "slurm", "spectrum", "m", "--shard", "1/2", "--array", "2", "-o", "r" }, 2, "slurm sets --shard")]
    [InlineData(new[] { "slurm", "spectrum", "m", "--array", "2", "--partition", "a b", "-o", "r", "--dry-run" }, 2, "--partition 'a b'")]
    public void BadInput_OneLineError(string[] args, int code, string message)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(code, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void SbatchAbsent_OneLineError()
    {
        string model = MakeModel();
        var r = CliRunner.Run("slurm", "spectrum", model, "--array", "2", "-o", Path.Combine(SharedData.TempFolder(), "run"), "--sbatch", "/nonexistent/sbatch");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("/nonexistent/sbatch: not found", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}
