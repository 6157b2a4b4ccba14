namespace WeightSpace.Tests.Cli;

/// <summary><c>neurons</c> and <c>outliers</c> with <c>--shard I/N --part F</c>, joined by <c>combine</c>: the single
/// run's <c>--json</c> byte for byte on the shared tiny Llama; bad input in one line.</summary>
public sealed class ShardedNeuronsOutliersCommandTests
{
    private static string[] Parts(int count)
    {
        string dir = SharedData.TempFolder();
        return Enumerable.Range(1, count).Select(i => Path.Combine(dir, $"p{i}.json")).ToArray();
    }

    private static void RunShards(string[] verbAndArguments, string[] parts)
    {
        for (int i = 0; i < parts.Length; i++)
        {
            var r = CliRunner.Run([.. verbAndArguments, "--shard", $"{i + 1}/{parts.Length}", "--part", parts[i]]);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
    }

    [Fact]
    public void Neurons_RealFineTuneAgainstBase_TwoShards_CombineWritesTheSingleRunsJsonAndReport()
    {
        string b = SharedData.RequireModel("llm/base"), f = SharedData.Require("llm/ft-python");
        string[] args = ["neurons", f, "--against", b, "--top", "5", "--most-changed", "12"];
        var single = CliRunner.Run([.. args, "--json"]);
        Assert.True(single.ExitCode == 0, single.Stderr);
        var parts = Parts(2);
        RunShards(args, parts);
        string dir = SharedData.TempFolder(), result = Path.Combine(dir, "neurons.json"), html = Path.Combine(dir, "neurons-report.html");
        var combined = CliRunner.Run(["combine", .. parts, "-o", result, "--report", html]);
        Assert.True(combined.ExitCode == 0, combined.Stderr);
        Assert.Equal(single.Stdout, File.ReadAllText(result));
        // The documented share for ft-python vs base (docs/neurons-and-outliers.md: 75.7 %), read from the combined file.
        Assert.Contains("\"share_top1_unchanged\": 0.7568359375", File.ReadAllText(result));
        Assert.Contains("MLP neurons keep their top-1 token versus the baseline", File.ReadAllText(html));
    }

    [Fact]
    public void Outliers_RealModel_ThreeShards_CombineWritesTheSingleRunsJson()
    {
        string b = SharedData.RequireModel("llm/base");
        string[] args = ["outliers", b, "--top", "3", "--list", "10"];
        var single = CliRunner.Run([.. args, "--json"]);
        Assert.True(single.ExitCode == 0, single.Stderr);
        var parts = Parts(3);
        RunShards(args, parts);
        string result = Path.Combine(SharedData.TempFolder(), "outliers.json");
        var combined = CliRunner.Run(["combine", .. parts, "-o", result]);
        Assert.True(combined.ExitCode == 0, combined.Stderr);
        Assert.Equal(single.Stdout, File.ReadAllText(result));
        Assert.Contains("combined 3 parts (30 tensors)", combined.Stdout);
    }

    [Fact]
    public void BadInput_OneLineErrors()
    {
        string b = SharedData.RequireModel("llm/base"), f = SharedData.Require("llm/ft-python");
        string dir = SharedData.TempFolder();
        static void Expect(string[] args, int code, string message) => CliRunner.ExpectOneLineError(args, code, message);
        string x = Path.Combine(dir, "x.json");
        Expect(["neurons", b, "--shard", "3/2", "--part", x], 2, "the shard number 3 is out of range 1..2");
        Expect(["neurons", b, "--shard", "0/2", "--part", x], 2, "the shard number 0 is out of range 1..2");
        Expect(["neurons", b, "--shard", "1/2"], 2, "--shard needs --part");
        Expect(["neurons", b, "--shard", "1/2", "--part", x, "--json"], 2, "--shard writes a part");
        Expect(["outliers", b, "--shard", "1/2", "--part", x, "--csv", Path.Combine(dir, "o.csv")], 2, "--shard writes a part");
        Expect(["outliers", b, "--shard", "1/2", "--part", x, "--text", SharedData.Require("llm/eval/prose.txt")], 2, "--text runs the whole model");
        Assert.False(File.Exists(x));

        string n1 = Path.Combine(dir, "n1.json"), n2 = Path.Combine(dir, "n2.json"), o2 = Path.Combine(dir, "o2.json");
        Assert.Equal(0, CliRunner.Run("neurons", b, "--top", "3", "--shard", "1/2", "--part", n1).ExitCode);
        Assert.Equal(0, CliRunner.Run("neurons", f, "--top", "3", "--shard", "2/2", "--part", n2).ExitCode);
        Assert.Equal(0, CliRunner.Run("outliers", b, "--shard", "2/2", "--part", o2).ExitCode);
        string r = Path.Combine(dir, "r.json");
        Expect(["combine", n1, n2, "-o", r], 1, "models '");
        Expect(["combine", n1, o2, "-o", r], 1, "verb 'outliers' differs from 'neurons'");
        Expect(["combine", n1, "-o", r], 1, "1 of 2 shards have no part: 2/2");
        Expect(["combine", n1, Path.Combine(dir, "absent.json"), "-o", r], 1, "1 of 2 shards have no part: 2/2");
        Expect(["combine", n1, "-o", r, "--report", Path.Combine(dir, "r.html")], 2, "writes its data to");
        Assert.False(File.Exists(r));
    }

    [Fact]
    public void Slurm_DryRun_NeuronsAndOutliers()
    {
        string b = SharedData.RequireModel("llm/base"), f = SharedData.Require("llm/ft-python");
        string run = Path.Combine(SharedData.TempFolder(), "run");
        string ws = Path.Combine(AppContext.BaseDirectory, "weightspace");
        var neurons = CliRunner.Run("slurm", "neurons", f, "--against", b, "--top", "5", "--array", "4", "-o", run, "--dry-run", "--weightspace", ws,
            "--report", Path.Combine(run, "neurons.html"));
        Assert.True(neurons.ExitCode == 0, neurons.Stderr);
        Assert.Contains("#SBATCH --job-name=ws-neurons", neurons.Stdout);
        Assert.Contains($"neurons {Path.GetFullPath(f)} --against {Path.GetFullPath(b)} --top 5 --shard \"$((k + 1))/$n\" --part \"$part\"", neurons.Stdout);
        Assert.Contains($"combine --expect 4 --logs {run}/logs -o {run}/result.json --report {run}/neurons.html", neurons.Stdout);

        var outliers = CliRunner.Run("slurm", "outliers", b, "--top", "3", "--array", "2", "-o", run, "--dry-run", "--weightspace", ws);
        Assert.True(outliers.ExitCode == 0, outliers.Stderr);
        Assert.Contains($"outliers {Path.GetFullPath(b)} --top 3 --shard", outliers.Stdout);
        Assert.False(Directory.Exists(run));

        var text = CliRunner.Run("slurm", "outliers", b, "--text", SharedData.Require("llm/eval/prose.txt"), "--array", "2", "-o", run, "--dry-run");
        Assert.Equal(2, text.ExitCode);
        Assert.Contains("cannot be split", text.Stderr);
    }
}
