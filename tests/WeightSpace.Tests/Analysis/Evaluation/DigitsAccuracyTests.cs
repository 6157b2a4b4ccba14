using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Formats;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Tests.Analysis.Evaluation;

/// <summary>The TorchSharp evaluator against torch's own accuracies and losses for the digits models on the original,
/// mirrored and inverted test sets (shared/data/digits_mlp/expected.json "accuracy").</summary>
public sealed class DigitsAccuracyTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in new[] { "seed0", "ft_fliplr", "ft_invert" })
            foreach (string set in new[] { "original", "fliplr", "invert" })
                data.Add(model, set);
        return data;
    }

    /// <summary>Test split as the generator made it: rows with index % 5 == 0, pixels / 16, as 8×8 images.</summary>
    internal static Dataset TestImages(string set)
    {
        var all = DatasetLoader.LoadIdx(SharedData.Require("datasets/sklearn/digits-images-idx3-ubyte"),
            SharedData.Require("datasets/sklearn/digits-labels-idx1-ubyte")).Scale(1f / 16);
        var test = all.Select(Enumerable.Range(0, all.Count).Where(i => i % 5 == 0).ToArray());
        return set switch { "fliplr" => ImageTransforms.MirrorLeftRight(test), "invert" => ImageTransforms.Invert(test), _ => test };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_DigitsModels_ReproduceTorchAccuracyAndLoss(string model, string set)
    {
        using var store = Checkpoint.Open(SharedData.Require($"digits_mlp/mlp_{model}.safetensors"));
        var score = new TorchModelEvaluator(NetworkArchitecture.Mlp(store)).Evaluate(store, TestImages(set), TestContext.Current.CancellationToken);
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var e = expected.RootElement.GetProperty("accuracy").GetProperty(model).GetProperty(set);
        Assert.Equal(360, score.Count);
        // Same float32 graph as torch (linear, relu, cross_entropy); only summation order differs, so no image may flip.
        Assert.Equal(e.GetProperty("acc").GetDouble(), score.Accuracy, 1e-6);
        double loss = e.GetProperty("loss").GetDouble();
        Assert.Equal(loss, score.Loss, 1e-5 * Math.Max(1, loss));
    }

    [Fact]
    public void Evaluate_HandMadeNetwork_GivesHandComputedLossAndAccuracy()
    {
        // fc1: identity 2→2 with bias (0, −1), ReLU; fc2: identity. x = (2, 3) → h = (2, 2) → logits (2, 2) → tie, argmax picks
        // class 0; x = (0, 5) → h = (0, 4) → class 1. Loss: row 1 label 0: ln 2; row 2 label 1: ln(1 + e^-4).
        using var store = new InMemoryTensorStore("hand")
            .Add("fc1.weight", [1f, 0f, 0f, 1f], 2, 2).Add("fc1.bias", [0f, -1f], 2)
            .Add("fc2.weight", [1f, 0f, 0f, 1f], 2, 2).Add("fc2.bias", [0f, 0f], 2);
        var data = new Dataset([2f, 3f, 0f, 5f], [0, 1], new Shape(2));
        var score = new TorchModelEvaluator(NetworkArchitecture.Mlp(store)).Evaluate(store, data, TestContext.Current.CancellationToken);
        Assert.Equal(1.0, score.Accuracy);
        Assert.Equal((Math.Log(2) + Math.Log(1 + Math.Exp(-4))) / 2, score.Loss, 1e-6);
    }

    [Fact]
    public void ImageTransforms_MirrorAndInvert_MoveEveryPixelAsDefined()
    {
        var original = TestImages("original");
        var flipped = TestImages("fliplr");
        var inverted = TestImages("invert");
        Assert.Equal(360, original.Count);
        for (int s = 0; s < 3; s++)
            for (int r = 0; r < 8; r++)
                for (int c = 0; c < 8; c++)
                {
                    Assert.Equal(original.Features[s * 64 + r * 8 + c], flipped.Features[s * 64 + r * 8 + 7 - c]);
                    Assert.Equal(1 - original.Features[s * 64 + r * 8 + c], inverted.Features[s * 64 + r * 8 + c]);
                }
        Assert.Equal(original.Labels, flipped.Labels);
    }
}
