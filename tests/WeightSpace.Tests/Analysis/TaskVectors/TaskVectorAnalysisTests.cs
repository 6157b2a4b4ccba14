using WeightSpace.Tests.Analysis.Merging;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Analysis.Compatibility;
using WeightSpace.Analysis.Merging.Planning;
using static WeightSpace.Tests.Analysis.Merging.MergeTestKit;

namespace WeightSpace.Tests.Analysis.TaskVectors;

public class TaskVectorAnalysisTests
{
    // fc1.weight: θ₀ = I, Δ1 = diag(3, 4), Δ2 = diag(−3, 4). fc1.bias: θ₀ = [2, 0], Δ1 = [0, 1], Δ2 = [0, −1].
    // model.layers.0.w: θ₀ = [1, 1], Δ1 = [0.1, 0], Δ2 = [0.1, 0.1].
    private static (TensorStore Base, TensorStore[] Models) Fixture() =>
    (
        Store("base", ("fc1.weight", [1f, 0, 0, 1], [2, 2]), ("fc1.bias", [2f, 0], [2]), ("model.layers.0.w", [1f, 1], [2])),
        [
            Store("ft1", ("fc1.weight", [4f, 0, 0, 5], [2, 2]), ("fc1.bias", [2f, 1], [2]), ("model.layers.0.w", [1.1f, 1], [2])),
            Store("ft2", ("fc1.weight", [-2f, 0, 0, 5], [2, 2]), ("fc1.bias", [2f, -1], [2]), ("model.layers.0.w", [1.1f, 1.1f], [2])),
        ]
    );

    [Fact]
    public void Analyze_HandComputedTensor_NormsCosineSignAgreement()
    {
        var (b, ms) = Fixture();
        var r = TaskVectorAnalysis.Analyze(b, ms, new TaskVectorOptions { TopFractions = [0.25, 0.5] }, ct: TestContext.Current.CancellationToken);
        var w = r.Tensors.Single(t => t.Name == "fc1.weight");
        // ‖Δ1‖ = 5, ‖θ₀‖ = √2 → 3.53553; cos = (−9 + 16)/25 = 0.28; same sign and both non-zero: entry 3 only → 1/4.
        Assert.Equal(5, w.Models[0].Norm, 6);
        Assert.Equal(5 / Math.Sqrt(2), w.Models[0].RelativeChange, 6);
        Assert.Equal(0.28, w.Cosine[0][1], 6);
        Assert.Equal(0.25, w.SignAgreement[0][1], 6);
        Assert.Equal(1.0, w.Cosine[1][1]);
        // Top 25 % (1 entry) of |Δ1| = 4 of 7; top 50 % = all the mass.
        Assert.Equal(4.0 / 7, w.Models[0].TopMassFractions[0], 6);
        Assert.Equal(1.0, w.Models[0].TopMassFractions[1], 6);
        // σ(diag(3, 4)) = [4, 3]; p = [4/7, 3/7]; H = 4/7·ln(7/4) + 3/7·ln(7/3) = 0.682908, exp(H) = 1.979627.
        Assert.Equal([4.0, 3.0], w.Models[0].TopSingularValues.Select(s => Math.Round(s, 5)));
        Assert.Equal(1.979627, w.Models[0].EffectiveRank!.Value, 5);
        var bias = r.Tensors.Single(t => t.Name == "fc1.bias");
        Assert.Equal(-1.0, bias.Cosine[0][1], 6);
        Assert.Null(bias.Models[0].EffectiveRank);
    }

    [Fact]
    public void Analyze_Groups_SumAcrossTensorsAndRank()
    {
        var (b, ms) = Fixture();
        var r = TaskVectorAnalysis.Analyze(b, ms, ct: TestContext.Current.CancellationToken);
        // Group fc1 = fc1.weight + fc1.bias: ‖θ₀‖² = 2 + 4, ‖Δ1‖² = 25 + 1, ⟨Δ1, Δ2⟩ = 7 − 1 → cos 6/26; agreement 1 of 6.
        var fc1 = r.Groups.Single(g => g.Name == "fc1");
        Assert.Equal(6, fc1.ElementCount);
        Assert.Equal(Math.Sqrt(26) / Math.Sqrt(6), fc1.Models[0].RelativeChange, 6);
        Assert.Equal(6.0 / 26, fc1.Cosine[0][1], 6);
        Assert.Equal(1.0 / 6, fc1.SignAgreement[0][1], 6);
        Assert.Equal(["fc1", "model.layers.0."], r.LayerRanking.Select(g => g.Name));
        // Whole model: ‖Δ2‖² = 25 + 1 + 0.02.
        Assert.Equal(Math.Sqrt(26.02), r.Whole.Models[1].Norm, 4);
        Assert.Equal(8, r.Whole.ElementCount);
    }

    [Fact]
    public void Analyze_GroupTopMass_ApproximatesExactWithinBinWidth()
    {
        var rng = new Random(3);
        var baseValues = new float[4096];
        var ft = Enumerable.Range(0, 4096).Select(_ => (float)(Math.Exp(rng.NextDouble() * 6) * (rng.Next(2) * 2 - 1))).ToArray();
        var r = TaskVectorAnalysis.Analyze(Store("b", ("x.w", baseValues, [4096])), [Store("f", ("x.w", ft, [4096]))],
            new TaskVectorOptions { TopFractions = [0.1] }, ct: TestContext.Current.CancellationToken);
        double exact = r.Tensors[0].Models[0].TopMassFractions[0];
        double approx = r.Groups[0].Models[0].TopMassFractions[0];
        Assert.True(Math.Abs(approx - exact) / exact < 0.125, $"exact {exact}, histogram {approx}");
    }

    [Fact]
    public void Analyze_Mismatches_ListedTogetherOrSkipped()
    {
        var (b, _) = Fixture();
        var bad = Store("bad", ("fc1.weight", [1f, 2, 3], [3]), ("model.layers.0.w", [1f, 2], [2]), ("extra", [0f], [1]));
        var problems = ModelCompatibility.Check(b, [bad]);
        Assert.Equal(3, problems.Count);   // fc1.weight shape, fc1.bias missing, extra
        var ex = Assert.Throws<ModelMismatchException>(() => TaskVectorAnalysis.Analyze(b, [bad], ct: TestContext.Current.CancellationToken));
        Assert.Contains(ex.Problems, p => p.Contains("fc1.bias") && p.Contains("missing"));
        var r = TaskVectorAnalysis.Analyze(b, [bad], new TaskVectorOptions { SkipMismatched = true }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(["model.layers.0.w"], r.Tensors.Select(t => t.Name));
        Assert.Equal(3, r.Skipped.Count);
    }

    [Fact]
    public void Arithmetic_NegateScaleExtract_ThroughRunner()
    {
        var (b, ms) = Fixture();
        var sink = new CollectingSink();
        MergeRunner.Run(TaskVectorArithmetic.Negate(b, ms[0]), sink, ct: TestContext.Current.CancellationToken);
        Assert.Equal([-2f, 0, 0, -3], sink.Floats["fc1.weight"]);   // I − diag(3, 4)
        sink = new CollectingSink();
        MergeRunner.Run(TaskVectorArithmetic.Apply(b, [(ms[0], 0.5), (ms[1], 0.5)]), sink, ct: TestContext.Current.CancellationToken);
        Assert.Equal([1f, 0, 0, 5], sink.Floats["fc1.weight"]);      // I + ½diag(3, 4) + ½diag(−3, 4)
        sink = new CollectingSink();
        MergeRunner.Run(TaskVectorArithmetic.Extract(b, ms[1]), sink, ct: TestContext.Current.CancellationToken);
        Assert.Equal([-3f, 0, 0, 4], sink.Floats["fc1.weight"]);
    }

    [Fact]
    public void EffectiveRank_FlatSpectrum_IsTheRank() =>
        Assert.Equal(3, TaskVectorAnalysis.EffectiveRank([2, 2, 2, 0]), 10);
}
