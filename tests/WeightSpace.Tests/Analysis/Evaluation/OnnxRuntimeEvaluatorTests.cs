using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Formats;
using WeightSpace.Formats.Onnx.Export;
using WeightSpace.Tests.Analysis.Alignment;

namespace WeightSpace.Tests.Analysis.Evaluation;

/// <summary>The ONNX Runtime evaluator against onnxruntime-node's logits (onnx/expected/ort_reference.json) and
/// PyTorch's accuracies and naive interpolation curve (digits_mlp/expected.json); the exporter against TorchSharp.</summary>
public sealed class OnnxRuntimeEvaluatorTests
{
    [Theory]
    [InlineData("seed0")]
    [InlineData("seed1")]
    public void Logits_DigitsMlpReferenceBatch_MatchOnnxRuntimeNode(string seed)
    {
        string model = SharedData.Require($"digits_mlp/mlp_{seed}.onnx");
        using var reference = SharedData.Json("onnx/expected/ort_reference.json");
        var expected = reference.RootElement.GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("model").GetString() == $"digits_mlp/mlp_{seed}.onnx")
            .GetProperty("outputs").GetProperty("logits").GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        using var evaluator = new OnnxRuntimeEvaluator(model);
        Assert.True(evaluator.UsesOverridableInitializers);
        // Fed from the safetensors checkpoint (same names as the ONNX initializers), not from the model's own values.
        using var weights = Checkpoint.Open(SharedData.Require($"digits_mlp/mlp_{seed}.safetensors"));
        var logits = evaluator.Logits(weights, DigitsData.ReferenceBatch(), TestContext.Current.CancellationToken);
        Assert.Equal(40, logits.Length);
        // Same runtime, same float32 kernels up to thread scheduling: logits up to 23 agree to a few float32 ulps.
        for (int i = 0; i < 40; i++) Assert.Equal(expected[i], logits[i], 1e-4f);
    }

    [Theory]
    [InlineData("seed0")]
    [InlineData("seed1")]
    public void Evaluate_DigitsTestSet_MatchesTorchAccuracyAndLoss(string seed)
    {
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var original = expected.RootElement.GetProperty("accuracy").GetProperty(seed).GetProperty("original");
        using var evaluator = new OnnxRuntimeEvaluator(SharedData.Require($"digits_mlp/mlp_{seed}.onnx"), batchSize: 100);
        using var weights = Checkpoint.Open(SharedData.Require($"digits_mlp/mlp_{seed}.safetensors"));
        var e = evaluator.Evaluate(weights, DigitsData.Test(), TestContext.Current.CancellationToken);
        Assert.Equal(360, e.Count);
        Assert.Equal(original.GetProperty("acc").GetDouble(), e.Accuracy, 1e-6);
        // Torch reduces the mean in float32; ours sums in double: agreement to ~1e-6 relative.
        Assert.Equal(original.GetProperty("loss").GetDouble(), e.Loss, 1e-5);
    }

    [Fact]
    public void Interpolate_Seed0ToSeed1_OrtAndTorchMatchExpectedCurve()
    {
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var lmc = expected.RootElement.GetProperty("lmc_naive_seed0_to_seed1");
        var curve = lmc.GetProperty("curve").EnumerateArray().ToList();
        using var a = Checkpoint.Open(SharedData.Require("digits_mlp/mlp_seed0.safetensors"));
        using var b = Checkpoint.Open(SharedData.Require("digits_mlp/mlp_seed1.safetensors"));
        var test = DigitsData.Test();
        using var ort = new OnnxRuntimeEvaluator(SharedData.Require("digits_mlp/mlp_seed0.onnx"));
        var torch = new TorchModelEvaluator(NetworkArchitecture.Mlp(a));
        foreach (IModelEvaluator evaluator in new IModelEvaluator[] { ort, torch })
        {
            var c = LinearModeConnectivity.Interpolate(a, b, evaluator, test, new ConnectivityOptions { Points = 11 }, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(11, c.Alphas.Length);
            for (int i = 0; i < 11; i++)
            {
                Assert.Equal(curve[i].GetProperty("alpha").GetDouble(), c.Alphas[i], 1e-12);
                // θ(α) is formed in float32 on both sides; loss to 1e-5, accuracy exactly (1/360 steps).
                Assert.Equal(curve[i].GetProperty("test_loss").GetDouble(), c.Loss[i], 1e-5);
                Assert.Equal(curve[i].GetProperty("test_acc").GetDouble(), c.Accuracy[i], 1e-6);
            }
            Assert.Equal(0.958, c.Accuracy[5], 1e-3);
            Assert.Equal(lmc.GetProperty("test_loss_barrier").GetDouble(), c.BarrierLoss, 1e-5);
        }
    }

    [Fact]
    public void Evaluate_WeightWithWrongShape_ThrowsNamingTensor()
    {
        using var evaluator = new OnnxRuntimeEvaluator(SharedData.Require("digits_mlp/mlp_seed0.onnx"));
        var wrong = Fixtures.Mlp(0, 64, 100, 128, 10);   // fc1 is [100, 64] instead of [128, 64]
        var e = Assert.Throws<InvalidCheckpointException>(() => evaluator.Evaluate(wrong, DigitsData.ReferenceBatch(), TestContext.Current.CancellationToken));
        Assert.Contains("fc1.weight", e.Message);
    }

    [Fact]
    public void Evaluate_MissingWeight_ThrowsNamingTensor()
    {
        using var evaluator = new OnnxRuntimeEvaluator(SharedData.Require("digits_mlp/mlp_seed0.onnx"));
        var partial = new InMemoryTensorStore("partial").Add("fc1.bias", new float[128], 128);
        var e = Assert.Throws<InvalidCheckpointException>(() => evaluator.Evaluate(partial, DigitsData.ReferenceBatch(), TestContext.Current.CancellationToken));
        Assert.Contains("fc1.weight", e.Message);
    }

    [Fact]
    public void Export_CnnWithBatchNorm_OrtLogitsEqualTorchForward()
    {
        var (store, arch) = Fixtures.Cnn(5);
        var data = Fixtures.Data(6, 7, new Shape(8, 8), 3);
        string path = Path.Combine(SharedData.TempFolder(), "cnn.onnx");
        var options = new OnnxExportOptions { SampleShape = [8, 8] };
        OnnxExporter.Save(store, arch.ToOnnxLayers(), options, path);
        Assert.Equal(File.ReadAllBytes(path), OnnxExporter.Export(store, arch.ToOnnxLayers(), options));   // deterministic
        using var evaluator = new OnnxRuntimeEvaluator(path);
        var ortLogits = evaluator.Logits(store, data, TestContext.Current.CancellationToken);
        var torchLogits = Fixtures.Outputs(arch, store, data);
        Assert.Equal(torchLogits.Length, ortLogits.Length);
        // Two float32 implementations of the same ops: differences are summation-order rounding, ~1e-6 of |logit| ≲ 3.
        for (int i = 0; i < ortLogits.Length; i++) Assert.Equal(torchLogits[i], ortLogits[i], 1e-4f);
    }

    [Fact]
    public void Export_Mlp_EvaluatesLikeTorch()
    {
        var store = Fixtures.Mlp(8, 6, 7, 5, 4);
        var arch = Fixtures.MlpArchitecture(3);
        var data = Fixtures.Data(9, 50, new Shape(6), 4);
        string path = Path.Combine(SharedData.TempFolder(), "mlp.onnx");
        OnnxExporter.Save(store, arch.ToOnnxLayers(), new OnnxExportOptions { SampleShape = [6] }, path);
        using var evaluator = new OnnxRuntimeEvaluator(path, batchSize: 16);
        var ort = evaluator.Evaluate(store, data, TestContext.Current.CancellationToken);
        var torch = new TorchModelEvaluator(arch).Evaluate(store, data, TestContext.Current.CancellationToken);
        Assert.Equal(torch.Accuracy, ort.Accuracy);
        Assert.Equal(torch.Loss, ort.Loss, 1e-5);
    }
}
