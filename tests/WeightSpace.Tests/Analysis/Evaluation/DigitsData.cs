using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Tests.Analysis.Evaluation;

/// <summary>The digits test split exactly as data/torch/make_fixtures.py defines it (digits_mlp/expected.json "data"):
/// rows with index % 5 == 0 of digits.csv.gz, pixels / 16.</summary>
internal static class DigitsData
{
    public static Dataset Test()
    {
        var all = DatasetLoader.LoadCsv(SharedData.Require("datasets/sklearn/digits.csv.gz"));
        int[] rows = [.. Enumerable.Range(0, all.Count).Where(i => i % 5 == 0)];
        return all.Select(rows).Scale(1 / 16f);
    }

    /// <summary>The first four test rows (reference_batch of digits_mlp/expected.json), labels unused.</summary>
    public static Dataset ReferenceBatch()
    {
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var x = expected.RootElement.GetProperty("reference_batch").GetProperty("x").EnumerateArray()
            .SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())).ToArray();
        return new Dataset(x, new int[x.Length / 64], new Shape(64));
    }
}
