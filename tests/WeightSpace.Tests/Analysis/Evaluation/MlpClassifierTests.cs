using WeightSpace.Analysis.Evaluation;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.Evaluation;

public sealed class MlpClassifierTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in new[] { "seed0", "ft_fliplr", "ft_invert" })
            foreach (string set in new[] { "original", "fliplr", "invert" })
                data.Add(model, set);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_DigitsModels_ReproduceTorchAccuracyAndLoss(string model, string set)
    {
        using var store = Checkpoint.Open(SharedData.Require($"digits_mlp/mlp_{model}.safetensors"));
        var transform = set switch { "fliplr" => DigitsTransform.FlipLeftRight, "invert" => DigitsTransform.Invert, _ => DigitsTransform.None };
        var data = DigitsDataset.Load(SharedData.Require("datasets/sklearn/digits.csv.gz"), transform);
        var score = MlpClassifier.Evaluate(store, data);
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
        var store = new InMemoryTensorStore("hand")
            .Add("fc1.weight", [1f, 0f, 0f, 1f], 2, 2).Add("fc1.bias", [0f, -1f], 2)
            .Add("fc2.weight", [1f, 0f, 0f, 1f], 2, 2).Add("fc2.bias", [0f, 0f], 2);
        var data = new ClassificationDataset("hand", [2f, 3f, 0f, 5f], [0, 1], 2);
        var score = MlpClassifier.Evaluate(store, data);
        Assert.Equal(1.0, score.Accuracy);
        Assert.Equal((Math.Log(2) + Math.Log(1 + Math.Exp(-4))) / 2, score.Loss, 1e-6);
    }

    [Fact]
    public void Evaluate_MissingBias_ThrowsNamingTensor()
    {
        var store = new InMemoryTensorStore("nobias").Add("fc1.weight", [1f, 0f], 1, 2);
        var e = Assert.Throws<InvalidCheckpointException>(() => MlpClassifier.Evaluate(store, new ClassificationDataset("d", [1f, 2f], [0], 2)));
        Assert.Contains("fc1.bias", e.Message);
    }

    [Fact]
    public void Load_DigitsTest_HasGeneratorSplitAndTransforms()
    {
        string path = SharedData.Require("datasets/sklearn/digits.csv.gz");
        var original = DigitsDataset.Load(path);
        var flipped = DigitsDataset.Load(path, DigitsTransform.FlipLeftRight);
        var inverted = DigitsDataset.Load(path, DigitsTransform.Invert);
        Assert.Equal(360, original.Count);
        Assert.Equal(1437, DigitsDataset.Load(path, testSplit: false).Count);
        for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++)
            {
                Assert.Equal(original.Features[r * 8 + c], flipped.Features[r * 8 + 7 - c]);
                Assert.Equal(1 - original.Features[r * 8 + c], inverted.Features[r * 8 + c]);
            }
    }
}
