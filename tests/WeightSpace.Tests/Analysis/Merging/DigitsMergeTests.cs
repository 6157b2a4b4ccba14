using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>Real merges of the PyTorch-trained digits MLPs, checked against the generator's own numbers.</summary>
public class DigitsMergeTests
{
    private static double Expected(System.Text.Json.JsonElement e, params string[] path)
    {
        foreach (var p in path) e = e.GetProperty(p);
        return e.GetDouble();
    }

    [Fact]
    public void TaskVectors_Seed0ToSeed1_MatchPairsJson()
    {
        var a = DigitsFixture.Load("digits_mlp/mlp_seed0.safetensors");
        var b = DigitsFixture.Load("digits_mlp/mlp_seed1.safetensors");
        using var pairs = SharedData.Json("onnx/expected/pairs.json");
        var pair = pairs.RootElement.GetProperty("pairs").EnumerateArray().Single(p => p.GetProperty("a").GetString()!.Contains("mlp_seed0"));
        var report = TaskVectorAnalysis.Analyze(a, [b], ct: TestContext.Current.CancellationToken);
        foreach (var t in pair.GetProperty("tensors").EnumerateArray())
        {
            var mine = report.Tensors.Single(x => x.Name == t.GetProperty("name").GetString());
            double diff = t.GetProperty("norm_b_minus_a").GetDouble(), normA = t.GetProperty("norm_a").GetDouble();
            Assert.Equal(diff, mine.Models[0].Norm, diff * 1e-6);
            Assert.Equal(diff / normA, mine.Models[0].RelativeChange, diff / normA * 1e-6);
        }
        Assert.Equal(Expected(pair, "global", "norm_b_minus_a"), report.Whole.Models[0].Norm, 1e-4);
        Assert.Equal(Expected(pair, "global", "norm_a"), report.Whole.BaseNorm, 1e-4);
    }

    [Fact]
    public void TaskVectors_FineTunes_MatchTauNorms()
    {
        var seed0 = DigitsFixture.Load("digits_mlp/mlp_seed0.safetensors");
        var report = TaskVectorAnalysis.Analyze(seed0,
            [DigitsFixture.Load("digits_mlp/mlp_ft_fliplr.safetensors"), DigitsFixture.Load("digits_mlp/mlp_ft_invert.safetensors")],
            ct: TestContext.Current.CancellationToken);
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var norms = expected.RootElement.GetProperty("task_arithmetic").GetProperty("tau_norms");
        Assert.Equal(norms.GetProperty("ft_fliplr").GetDouble(), report.Whole.Models[0].Norm, 1e-4);
        Assert.Equal(norms.GetProperty("ft_invert").GetDouble(), report.Whole.Models[1].Norm, 1e-4);
    }

    [Theory]
    [InlineData("base+tau_fliplr", 1.0, 0.0)]
    [InlineData("base+tau_invert", 0.0, 1.0)]
    [InlineData("base+tau_fliplr+tau_invert", 1.0, 1.0)]
    [InlineData("base+0.5*(tau_fliplr+tau_invert)", 0.5, 0.5)]
    [InlineData("base-tau_fliplr", -1.0, 0.0)]
    public void TaskArithmetic_ThroughRunner_ReproducesTorchAccuracy(string key, double cFliplr, double cInvert)
    {
        var seed0 = DigitsFixture.Load("digits_mlp/mlp_seed0.safetensors");
        var terms = new List<(TensorStore, double)>();
        if (cFliplr != 0) terms.Add((DigitsFixture.Load("digits_mlp/mlp_ft_fliplr.safetensors"), cFliplr));
        if (cInvert != 0) terms.Add((DigitsFixture.Load("digits_mlp/mlp_ft_invert.safetensors"), cInvert));
        var sink = new CollectingSink();
        MergeRunner.Run(TaskVectorArithmetic.Apply(seed0, terms), sink, ct: TestContext.Current.CancellationToken);
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var results = expected.RootElement.GetProperty("task_arithmetic").GetProperty("results").GetProperty(key);
        foreach (string set in new[] { "original", "fliplr", "invert" })
        {
            double acc = DigitsFixture.Accuracy(n => sink.Floats[n], DigitsFixture.TestSet(set));
            // Float summation order differs from torch; allow one of 360 test images to flip.
            Assert.True(Math.Abs(acc - Expected(results, set, "acc")) <= 1.0 / 360 + 1e-9, $"{key} on {set}: {acc} vs torch {Expected(results, set, "acc")}");
        }
    }

    [Fact]
    public void Linear_Seed0Seed1Midpoint_ReproducesInterpolationCurve()
    {
        var stores = new Dictionary<string, TensorStore>
        {
            ["seed0"] = DigitsFixture.Load("digits_mlp/mlp_seed0.safetensors"),
            ["seed1"] = DigitsFixture.Load("digits_mlp/mlp_seed1.safetensors"),
        };
        var config = new MergeConfigBuilder("linear").AddModel("seed0", new Dictionary<string, double> { ["weight"] = 0.5 })
            .AddModel("seed1", new Dictionary<string, double> { ["weight"] = 0.5 }).Build();
        var sink = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(config, stores), sink, ct: TestContext.Current.CancellationToken);
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var point = expected.RootElement.GetProperty("lmc_naive_seed0_to_seed1").GetProperty("curve").EnumerateArray()
            .Single(p => Math.Abs(p.GetProperty("alpha").GetDouble() - 0.5) < 1e-9);
        double acc = DigitsFixture.Accuracy(n => sink.Floats[n], DigitsFixture.TestSet("original"));
        Assert.True(Math.Abs(acc - point.GetProperty("test_acc").GetDouble()) <= 1.0 / 360 + 1e-9, $"{acc}");
    }
}
