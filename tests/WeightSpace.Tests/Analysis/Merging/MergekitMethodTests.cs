namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>mergekit's nearswap, arcee_fusion, ram and ramplus_tl on inputs small enough to compute by hand.</summary>
public sealed class MergekitMethodTests
{
    [Fact]
    public void NearSwap_InterpolatesByThresholdOverDifference()
    {
        // t = 0.5; |Δ| = 0.25, 2, 0, 1 → w = clamp(t/|Δ|) = 1, 0.25, 1 (0/0 → 1), 0.5; θ = w·θ₁ + (1 − w)·θ₀.
        var result = MergeTestKit.Merge("nearswap", [0f, 0f, 1f, 2f], [[0.25f, 2f, 1f, 3f]], MergeTestKit.P(("t", [0.5])));
        MergeTestKit.Close([0.25f, 0.5f, 1f, 2.5f], result, 1e-7);
    }

    [Fact]
    public void ArceeFusion_KeepsChangesAtOrAboveMedianPlusOnePointFiveIqr()
    {
        // One row, so every importance is k·|Δ| with one KL value k > 0. Sorted |Δ| = [1, 2, 2, 2, 2, 2, 2, 100]:
        // indices ⌊q·7⌋ = 1, 3, 5 all hold 2k → threshold 2k + 1.5·0 = 2k; only the element with |Δ| = 1 stays at the base.
        float[] delta = [1f, 2f, 2f, 2f, 2f, 2f, 2f, 100f];
        float[] baseValues = [0.5f, -0.5f, 0.25f, 0f, 1f, -1f, 0.75f, 0.1f];
        var model = baseValues.Zip(delta, (b, d) => b + d).ToArray();
        var result = MergeTestKit.Merge("arcee_fusion", baseValues, [model], shape: [1, 8]);
        var expected = model.ToArray();
        expected[0] = baseValues[0];
        MergeTestKit.Close(expected, result, 1e-6);
    }

    [Fact]
    public void Ram_TakesUniqueChangesWholeAndAveragesShared()
    {
        // τ₁ = [1, 2, 0], τ₂ = [3, 0, 0]: element 0 changed by both → mean 2; element 1 only by model 1 → 2; element 2 by none → 0.
        var result = MergeTestKit.Merge("ram", [0f, 0f, 5f], [[1f, 2f, 5f], [3f, 0f, 5f]]);
        MergeTestKit.Close([2f, 2f, 5f], result, 1e-7);
    }

    [Fact]
    public void RamPlusTensorLocal_ScalesEachModelsUniqueChanges()
    {
        // Model 1: one shared, one unique element → ρ = 1. Defaults r = 0.1, α = 0.2: λ = 1 + 0.1·0.2 = 1.02 → 2.04.
        // With r = 0.5, α = 2: λ = 1 + 0.5·1 = 1.5 → 3. Shared elements are averaged as in ram.
        float[] b = [0f, 0f, 5f];
        float[][] models = [[1f, 2f, 5f], [3f, 0f, 5f]];
        MergeTestKit.Close([2f, 2.04f, 5f], MergeTestKit.Merge("ramplus_tl", b, models), 1e-6);
        MergeTestKit.Close([2f, 3f, 5f], MergeTestKit.Merge("ramplus_tl", b, models, MergeTestKit.P(("r", [0.5]), ("alpha", [2.0]))), 1e-6);
    }
}
