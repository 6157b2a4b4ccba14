using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Formats;
using WeightSpace.Tests.Analysis.Datasets;
using WeightSpace.Tests.Analysis.Evaluation;

namespace WeightSpace.Tests.Cli;

/// <summary>The align and lmc verbs on the PyTorch-trained digits MLPs, against expected.json and against the
/// invariants of a permutation (same function, closer to A).</summary>
public sealed class AlignLmcCommandTests
{
    private static string Seed(int n, string ext) => SharedData.Require($"digits_mlp/mlp_seed{n}.{ext}");

    [Fact]
    public void Align_AutoSpecFromOnnx_WritesFunctionallyIdenticalStoreCloserToA()
    {
        string output = Path.Combine(SharedData.TempFolder(), "b_aligned.safetensors");
        var r = CliRunner.Run("align", Seed(0, "safetensors"), Seed(1, "safetensors"), "--spec", "auto", "--model", Seed(0, "onnx"), "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var alignment = doc.RootElement.GetProperty("alignment");
        Assert.Equal(["P_fc1", "P_fc2"], alignment.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("group").GetString()));

        using var a = Checkpoint.Open(Seed(0, "safetensors"));
        using var b = Checkpoint.Open(Seed(1, "safetensors"));
        using var aligned = Checkpoint.Open(output);
        // Same function: the permuted network's logits equal B's up to float summation order.
        using var evaluator = new OnnxRuntimeEvaluator(Seed(0, "onnx"));
        var test = DigitsData.Test();
        var logitsB = evaluator.Logits(b, test, TestContext.Current.CancellationToken);
        var logitsAligned = evaluator.Logits(aligned, test, TestContext.Current.CancellationToken);
        for (int i = 0; i < logitsB.Length; i++) Assert.Equal(logitsB[i], logitsAligned[i], 1e-4f);
        // Closer to A, and the report's distances are the true ones.
        double before = Distance(a, b), after = Distance(a, aligned);
        Assert.True(after < 0.9 * before, $"distance {before} -> {after}");
        Assert.Equal(before, alignment.GetProperty("distance_before").GetDouble(), 1e-6 * before);
        Assert.Equal(after, alignment.GetProperty("distance_after").GetDouble(), 1e-6 * before);
        // A permutation moves values, never changes them.
        foreach (var t in b.Tensors)
            Assert.Equal(b.ReadSingle(t.Name).Order(), aligned.ReadSingle(t.Name).Order());
    }

    [Fact]
    public void Lmc_JsonOnDigitsTestSplit_MatchesExpectedNaiveCurve()
    {
        string npz = WriteDigitsTestNpz();
        var r = CliRunner.Run("lmc", Seed(0, "safetensors"), Seed(1, "safetensors"), "--model", Seed(0, "onnx"), "--data", npz, "--points", "11", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        foreach (string key in new[] { "alphas", "loss", "accuracy" }) Assert.Equal(11, root.GetProperty(key).GetArrayLength());
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var lmc = expected.RootElement.GetProperty("lmc_naive_seed0_to_seed1");
        // PyTorch computed the same float32 interpolation; the mean cross-entropy agrees to ~1e-6, so 1e-5 on the barrier.
        Assert.Equal(lmc.GetProperty("test_loss_barrier").GetDouble(), root.GetProperty("barrier_loss").GetDouble(), 1e-5);
        var curve = lmc.GetProperty("curve").EnumerateArray().ToList();
        double chordAccuracy = (curve[0].GetProperty("test_acc").GetDouble() + curve[10].GetProperty("test_acc").GetDouble()) / 2;
        Assert.Equal(chordAccuracy - curve[5].GetProperty("test_acc").GetDouble(), root.GetProperty("barrier_accuracy_midpoint").GetDouble(), 1e-6);
        Assert.True(root.GetProperty("barrier_accuracy").GetDouble() >= root.GetProperty("barrier_accuracy_midpoint").GetDouble());
        Assert.Equal(360, root.GetProperty("samples").GetInt32());
    }

    [Fact]
    public void Lmc_AlignWithPlot_AlignedBarrierBelowNaiveAndSvgWritten()
    {
        string dir = SharedData.TempFolder();
        string plot = Path.Combine(dir, "lmc.svg");
        var r = CliRunner.Run("lmc", Seed(0, "safetensors"), Seed(1, "safetensors"), "--arch", "mlp", "--data", WriteDigitsTestNpz(), "--points", "5",
            "--align", "--spec", "mlp", "--json", "--plot", plot);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        double naive = doc.RootElement.GetProperty("barrier_loss").GetDouble();
        double aligned = doc.RootElement.GetProperty("aligned").GetProperty("barrier_loss").GetDouble();
        Assert.True(aligned < naive / 2, $"aligned barrier {aligned} vs naive {naive}");
        Assert.Contains("<svg", File.ReadAllText(plot));
        Assert.Contains("weight matching", File.ReadAllText(plot));   // both curves are in the legend
    }

    [Theory]
    [InlineData("banana", false, "--spec")]
    [InlineData("auto", false, "--model")]
    [InlineData("mlp", true, "--method")]
    public void Align_BadOption_ExitsTwoAndWritesNothing(string spec, bool badMethod, string named)
    {
        string dir = SharedData.TempFolder();
        string output = Path.Combine(dir, "out.safetensors");
        string[] args = ["align", Seed(0, "safetensors"), Seed(1, "safetensors"), "--spec", spec, "-o", output];
        if (badMethod) args = [.. args, "--method", "gradient"];
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(named, r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Align_MismatchedModels_ExitsOneAndWritesNothing()
    {
        string dir = SharedData.TempFolder();
        string output = Path.Combine(dir, "out.safetensors");
        string other = Path.Combine(dir, "other.safetensors");
        // Same names, different hidden width: the spec fits A but not B.
        var narrow = WeightSpace.Tests.Analysis.Alignment.Fixtures.Mlp(0, 64, 100, 128, 10);
        WeightSpace.Formats.Safetensors.SafetensorsWriter.Copy(narrow, other);
        var r = CliRunner.Run("align", Seed(0, "safetensors"), other, "--spec", "auto", "--model", Seed(0, "onnx"), "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("fc1", r.Stderr);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("--points", "1")]
    [InlineData("--plot", "curve.pdf")]
    [InlineData("--scale", "1/0")]
    public void Lmc_BadOptionValue_ExitsTwoNamingOption(string option, string value)
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("lmc", Seed(0, "safetensors"), Seed(1, "safetensors"), "--model", Seed(0, "onnx"), "--data", "unused.npz", option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(option, r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Lmc_NoEvaluator_ExitsTwo()
    {
        var r = CliRunner.Run("lmc", Seed(0, "safetensors"), Seed(1, "safetensors"), "--data", "unused.npz");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--model", r.Stderr);
    }

    [Fact]
    public void Lmc_MissingDataFile_ExitsOne()
    {
        var r = CliRunner.Run("lmc", Seed(0, "safetensors"), Seed(1, "safetensors"), "--model", Seed(0, "onnx"), "--data", Path.Combine(SharedData.TempFolder(), "none.npz"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("none.npz", r.Stderr);
    }

    private static double Distance(TensorStore a, TensorStore b)
    {
        double sum = 0;
        foreach (var t in a.Tensors)
        {
            float[] x = a.ReadSingle(t.Name), y = b.ReadSingle(t.Name);
            for (int i = 0; i < x.Length; i++) sum += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        }
        return Math.Sqrt(sum);
    }

    /// <summary>The digits test split (rows % 5 == 0, pixels / 16) as an .npz with float32 x [360, 64] and int64 y.</summary>
    private static string WriteDigitsTestNpz()
    {
        var test = DigitsData.Test();
        string path = Path.Combine(SharedData.TempFolder(), "digits_test.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            void Entry(string name, byte[] bytes)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(bytes);
            }
            Entry("x.npy", NpyBytes.Build("<f4", $"({test.Count}, 64)", MemoryMarshal.AsBytes(test.Features.AsSpan()).ToArray()));
            Entry("y.npy", NpyBytes.Build("<i8", $"({test.Count},)", NpyBytes.Longs(test.Labels.Select(l => (long)l).ToArray())));
        }
        return path;
    }
}
