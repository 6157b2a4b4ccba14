using System.Text.Json;
using WeightSpace.Formats;
using WeightSpace.Tests.Analysis.Merging;

namespace WeightSpace.Tests.Cli;

public sealed class DiffTaskVecCommandTests
{
    private static string Digits(string name) => SharedData.Require($"digits_mlp/mlp_{name}.safetensors");

    [Fact]
    public void DiffJson_DigitsFineTunes_HasReportShapeAndTorchNorms()
    {
        var r = CliRunner.Run("diff", Digits("seed0"), Digits("ft_fliplr"), Digits("ft_invert"), "--json", "--top", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("models").GetArrayLength());
        Assert.Equal(0, root.GetProperty("mismatches").GetArrayLength());
        Assert.Equal(6, root.GetProperty("tensors").GetArrayLength());
        Assert.Equal(3, root.GetProperty("groups").GetArrayLength());
        Assert.Equal(2, root.GetProperty("ranking").GetArrayLength());
        var whole = root.GetProperty("whole");
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var norms = expected.RootElement.GetProperty("task_arithmetic").GetProperty("tau_norms");
        Assert.Equal(norms.GetProperty("ft_fliplr").GetDouble(), whole.GetProperty("models")[0].GetProperty("norm").GetDouble(), 1e-4);
        Assert.Equal(norms.GetProperty("ft_invert").GetDouble(), whole.GetProperty("models")[1].GetProperty("norm").GetDouble(), 1e-4);
        var cos = whole.GetProperty("cosine");
        Assert.Equal(1.0, cos[0][0].GetDouble(), 1e-9);
        Assert.Equal(cos[0][1].GetDouble(), cos[1][0].GetDouble());
        var fc1 = root.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "fc1.weight");
        Assert.Equal(8, fc1.GetProperty("models")[0].GetProperty("top_singular_values").GetArrayLength());
        Assert.True(fc1.GetProperty("models")[0].GetProperty("effective_rank").GetDouble() > 1);
        Assert.Equal(2, fc1.GetProperty("models")[0].GetProperty("top_mass").GetArrayLength());
    }

    [Fact]
    public void DiffPlots_DigitsFineTunes_WritesEveryPlotAsSvgAndPng()
    {
        string dir = Path.Combine(SharedData.TempFolder(), "plots");
        var r = CliRunner.Run("diff", Digits("seed0"), Digits("ft_fliplr"), Digits("ft_invert"), "--plots", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        // Two fine-tunes of a 3-layer MLP: the five model plots plus one singular-value plot per 2-D weight (fc1–fc3).
        string[] stems = ["relative-change", "top-mass", "cosine", "sign-agreement", "cosine-by-group",
            "singular-values_01_", "singular-values_02_", "singular-values_03_"];
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).ToArray();
        Assert.Equal(stems.Length * 2, files.Length);
        foreach (string stem in stems)
        {
            string svg = Path.Combine(dir, files.Single(f => f == stem + ".svg" || (stem.EndsWith('_') && f!.StartsWith(stem, StringComparison.Ordinal) && f.EndsWith(".svg", StringComparison.Ordinal)))!);
            string text = File.ReadAllText(svg);
            Assert.Contains("<svg xmlns", text);
            Assert.Contains("<text", text);
            byte[] png = File.ReadAllBytes(Path.ChangeExtension(svg, ".png"));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
        Assert.Contains("fc1.weight", string.Join(" ", files));
        Assert.Contains($"wrote 16 plot files into {dir}", r.Stdout);
        // No temp files left behind by the atomic writes.
        Assert.DoesNotContain(files, f => f!.Contains(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void DiffPlots_PathIsAFile_Exit2NamesTheOption()
    {
        string file = Path.Combine(SharedData.TempFolder(), "not-a-dir");
        File.WriteAllText(file, "x");
        var r = CliRunner.Run("diff", Digits("seed0"), Digits("ft_fliplr"), "--plots", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--plots", r.Stderr);
        // A folder that cannot be created: an I/O error (exit 1) naming the option, not a stack trace.
        var unwritable = CliRunner.Run("diff", Digits("seed0"), Digits("ft_fliplr"), "--plots", Path.Combine(file, "sub"));
        Assert.Equal(1, unwritable.ExitCode);
        Assert.Contains("--plots", unwritable.Stderr);
        Assert.DoesNotContain("   at ", unwritable.Stderr);
    }

    [Fact]
    public void Diff_MismatchedModel_Exit1ListsMismatchesUnlessSkipped()
    {
        string dir = SharedData.TempFolder();
        string other = Path.Combine(dir, "other.safetensors");
        using (var w = WeightSpace.Formats.Safetensors.SafetensorsWriter.Create(other, [new TensorInfo("fc1.weight", DType.F32, new Shape(128, 64))]))
        {
            using var s = Checkpoint.Open(Digits("ft_fliplr"));
            w.Write("fc1.weight", s.ReadSingle("fc1.weight").AsSpan());
            w.Commit();
        }
        var r = CliRunner.Run("diff", Digits("seed0"), other);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("fc3.bias", r.Stderr);
        var skipped = CliRunner.Run("diff", Digits("seed0"), other, "--skip-mismatched", "--json");
        Assert.True(skipped.ExitCode == 0, skipped.Stderr);
        using var doc = JsonDocument.Parse(skipped.Stdout);
        Assert.Equal(5, doc.RootElement.GetProperty("mismatches").GetArrayLength());
        Assert.Equal(1, doc.RootElement.GetProperty("tensors").GetArrayLength());
    }

    private static Dictionary<string, float[]> ReadAll(string path)
    {
        using var store = Checkpoint.Open(path);
        return store.Tensors.ToDictionary(t => t.Name, t => store.ReadSingle(t.Name));
    }

    [Fact]
    public void TaskVec_NegateThenAdd_GivesBackTheFineTune()
    {
        string dir = SharedData.TempFolder();
        string neg = Path.Combine(dir, "neg"), back = Path.Combine(dir, "back");
        var r = CliRunner.Run("taskvec", "negate", Digits("seed0"), Digits("ft_fliplr"), "-o", neg);
        Assert.True(r.ExitCode == 0, r.Stderr);
        // neg = θ₀ − τ, so its task vector is −τ: θ₀ + τ + τ + (−τ) = θ₀ + τ, the fine-tune.
        r = CliRunner.Run("taskvec", "add", Digits("seed0"), Digits("ft_fliplr"), Digits("ft_fliplr"), Path.Combine(neg, "model.safetensors"), "-o", back);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var ft = ReadAll(Digits("ft_fliplr"));
        var seed0 = ReadAll(Digits("seed0"));
        var negated = ReadAll(neg);
        var result = ReadAll(back);
        foreach (var (name, v) in ft)
        {
            // Several float32 roundings of values of order |θ|: allow a few ulps of the largest magnitude involved.
            MergeTestKit.Close(v, result[name], 1e-5);
            for (int i = 0; i < v.Length; i++)
                Assert.Equal(2 * seed0[name][i] - v[i], negated[name][i], 1e-5f * Math.Max(1, Math.Abs(v[i])));
        }
        using var store = Checkpoint.Open(back);
        Assert.Contains("add", store.Metadata["weightspace.taskvec"]);
    }

    [Fact]
    public void TaskVec_ApplyWithLambdas_IsBasePlusWeightedTaskVectors()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("taskvec", "apply", Digits("seed0"), "--vectors", Digits("ft_fliplr"), Digits("ft_invert"), "--lambda", "0.5", "0.25", "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var result = ReadAll(Path.Combine(dir, "out"));
        var b = ReadAll(Digits("seed0"));
        var f = ReadAll(Digits("ft_fliplr"));
        var inv = ReadAll(Digits("ft_invert"));
        foreach (var name in b.Keys)
        {
            var expected = b[name].Select((x, i) => x + 0.5f * (f[name][i] - x) + 0.25f * (inv[name][i] - x)).ToArray();
            MergeTestKit.Close(expected, result[name], 1e-5);
        }
        Assert.Equal(2, CliRunner.Run("taskvec", "apply", Digits("seed0"), "--vectors", Digits("ft_fliplr"), Digits("ft_invert"), "--lambda", "1", "2", "3", "-o", Path.Combine(dir, "o2")).ExitCode);
    }

    [Fact]
    public void TaskVec_Help_ShowsAnExample()
    {
        foreach (string verb in new[] { "apply", "add", "negate", "scale" })
        {
            var r = CliRunner.Run("taskvec", verb, "--help");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains($"weightspace taskvec {verb} ", r.Stdout);
        }
        Assert.Contains("weightspace merge --method ties", CliRunner.Run("merge", "--help").Stdout);
        Assert.Contains("weightspace diff ", CliRunner.Run("diff", "--help").Stdout);
    }
}
