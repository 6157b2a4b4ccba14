using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Planning;
using static WeightSpace.Tests.Analysis.Merging.MergeTestKit;

namespace WeightSpace.Tests.Analysis.Merging;

public class GeneralizedTaskArithmeticTests
{
    [Fact]
    public void TaskArithmetic_HandComputed_AddsWeightedDeltas()
    {
        // τ1 = [1, −1, 0], τ2 = [0, 2, 2]; 1·τ1 + 0.5·τ2 = [1, 0, 1]; θ = [1,1,1] + that = [2, 1, 2].
        var r = Merge("task_arithmetic", [1, 1, 1], [[2, 0, 1], [1, 3, 3]], P(("weight", [1, 0.5])));
        Close([2, 1, 2], r);
    }

    [Fact]
    public void TaskArithmetic_LambdaZero_ReturnsBase()
    {
        var r = Merge("task_arithmetic", [1, -2, 3], [[5, 5, 5], [-4, 0, 9]], P(("weight", [1, 1]), ("lambda", [0])));
        Close([1, -2, 3], r, 0);
    }

    [Fact]
    public void TaskArithmetic_Normalize_DividesBySumOfWeights()
    {
        // (2·[2] + 2·[4]) / 4 = [3]; θ = 0 + 3.
        var r = Merge("task_arithmetic", [0], [[2], [4]], P(("weight", [2, 2]), ("normalize", [1])));
        Close([3], r);
    }

    [Fact]
    public void Ties_HandComputed_TrimElectDisjointMean()
    {
        // τ1 = [3, −1, 0.5, 2] keeps its top 2 → [3, 0, 0, 2]; τ2 = [−2, −2, 1, 0.1] → [−2, −2, 0, 0].
        // Votes Σwτ = [1, −2, 0, 2] → signs [+, −, + (zero → + in mergekit), +].
        // Entry 0: only τ1 agrees → 3/1; entry 1: τ2 → −2; entry 2: nothing non-zero → 0; entry 3: τ1 → 2.
        var r = Merge("ties", [0, 0, 0, 0], [[3, -1, 0.5f, 2], [-2, -2, 1, 0.1f]], P(("weight", [1, 1]), ("density", [0.5])));
        Close([3, -2, 0, 2], r);
    }

    [Fact]
    public void Ties_ZeroVote_MergekitPicksPlusPaperKeepsBase()
    {
        // τ1 = [1], τ2 = [−1]: the vote sums to 0. mergekit elects + and averages τ1 → 1; the paper elects no sign → 0.
        var mk = Merge("ties", [0], [[1], [-1]], P(("weight", [1, 1])));
        var paper = Merge("ties", [0], [[1], [-1]], P(("weight", [1, 1]), ("semantics", [1])));
        Close([1], mk);
        Close([0], paper);
    }

    [Fact]
    public void Ties_WeightsBeforeVote_ChangeTheElectedSign()
    {
        // τ1 = [1] weight 3, τ2 = [−2] weight 1. mergekit votes 3·1 − 2 = 1 → + → (3·1)/3 = 1.
        // The paper votes 1 − 2 = −1 → − → (1·−2)/1 = −2.
        var mk = Merge("ties", [0], [[1], [-2]], P(("weight", [3, 1])));
        var paper = Merge("ties", [0], [[1], [-2]], P(("weight", [3, 1]), ("semantics", [1])));
        Close([1], mk);
        Close([-2], paper);
    }

    [Fact]
    public void Ties_DensityOneNoConflicts_EqualsNormalizedTaskArithmetic()
    {
        var baseValues = new float[] { 0.5f, -1, 2, 0 };
        // Every τ column shares one sign and has no zero (a zero entry would drop out of the disjoint mean).
        float[][] models = [[1, -2, 3, 0.25f], [2, -1.5f, 2.5f, 1], [0.75f, -3, 2.2f, 0.5f]];
        var w = ("weight", new[] { 0.2, 0.5, 0.3 });
        var ties = Merge("ties", baseValues, models, P(w, ("density", [1])));
        var ta = Merge("task_arithmetic", baseValues, models, P(w, ("normalize", [1])));
        Close(ta, ties, 1e-6);
    }

    [Fact]
    public void DareLinear_SeedReproduces_AndDiffersAcrossSeeds()
    {
        var tau = Enumerable.Range(0, 64).Select(i => (float)(i - 30)).ToArray();
        var p = P(("weight", [1]), ("density", [0.5]));
        var a = Merge("dare_linear", new float[64], [tau], p, seed: 7);
        var b = Merge("dare_linear", new float[64], [tau], p, seed: 7);
        var c = Merge("dare_linear", new float[64], [tau], p, seed: 8);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void DareLinear_PaperRescale_KeepsExpectedDelta()
    {
        // Paper rescale: each entry is τ/p with probability p, else 0, so E = τ and Var = τ²(1/p − 1).
        // Over S seeds the mean's standard error is |τ|·sqrt((1/p − 1)/S); allow 5 of them.
        float[] tau = [1, -2, 0.5f, 3, -0.25f, 4, -1, 2];
        double p = 0.3;
        const int seeds = 600;
        var sum = new double[tau.Length];
        for (int s = 0; s < seeds; s++)
        {
            var r = Merge("dare_linear", new float[tau.Length], [tau], P(("weight", [1]), ("density", [p]), ("semantics", [1])), seed: (ulong)s);
            for (int i = 0; i < tau.Length; i++) sum[i] += r[i];
        }
        for (int i = 0; i < tau.Length; i++)
        {
            double se = Math.Abs(tau[i]) * Math.Sqrt((1 / p - 1) / seeds);
            Assert.True(Math.Abs(sum[i] / seeds - tau[i]) <= 5 * se, $"entry {i}: mean {sum[i] / seeds} vs τ {tau[i]} (5σ = {5 * se})");
        }
    }

    [Fact]
    public void DareLinear_MergekitRescale_MatchesL1Norm()
    {
        var tau = Enumerable.Range(0, 100).Select(i => (float)Math.Sin(i)).ToArray();
        var r = Merge("dare_linear", new float[100], [tau], P(("weight", [1]), ("density", [0.4])), seed: 3);
        double before = tau.Sum(x => Math.Abs((double)x)), after = r.Sum(x => Math.Abs((double)x));
        Assert.Equal(before, after, 4);
        Assert.Contains(0f, r);   // something was dropped
    }

    [Fact]
    public void DareTies_DensityOne_EqualsTies()
    {
        float[][] models = [[1, -2, 3], [-1, -1, 2]];
        var p = P(("weight", [1, 1]), ("density", [1]), ("normalize", [1]));
        Close(Merge("ties", [0, 0, 0], models, p), Merge("dare_ties", [0, 0, 0], models, p));
    }

    [Fact]
    public void Breadcrumbs_HandComputed_DropsOutliersAndSmallest()
    {
        // n = 10, density 0.5 → keep 5; gamma 0.1 → drop the top 1 (10) and the bottom 4 (1..4): keep 5..9.
        float[] tau = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var r = Merge("breadcrumbs", new float[10], [tau], P(("weight", [1]), ("density", [0.5]), ("gamma", [0.1])));
        Close([0, 0, 0, 0, 5, 6, 7, 8, 9, 0], r);
    }

    [Fact]
    public void Breadcrumbs_NoTopDropped_MergekitEmptiesPaperKeepsTop()
    {
        // gamma 0.05 → int(0.5) = 0 top entries dropped. mergekit's indices[4:-0] is empty → all zero;
        // the paper keeps the top 5.
        float[] tau = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var p = P(("weight", [1]), ("density", [0.5]), ("gamma", [0.05]));
        Close(new float[10], Merge("breadcrumbs", new float[10], [tau], p));
        p["semantics"] = [1];
        Close([0, 0, 0, 0, 0, 6, 7, 8, 9, 10], Merge("breadcrumbs", new float[10], [tau], p));
    }

    [Fact]
    public void DellaLinear_KeepProbabilities_FollowMagnitudeRank()
    {
        // density 0.5, ε 0.2: ranks 1, 2, 3 get keep probability 0.3, 0.5, 0.7. Without rescale a kept entry keeps its value.
        // Over S seeds the frequency's standard error is sqrt(p(1 − p)/S) ≤ 0.5/sqrt(S); allow 5 of them.
        float[] tau = [3, 1, 2];    // ranks: 3 → 3rd, 1 → 1st, 2 → 2nd
        double[] expected = [0.7, 0.3, 0.5];
        const int seeds = 2000;
        var kept = new int[3];
        for (int s = 0; s < seeds; s++)
        {
            var r = Merge("della_linear", new float[3], [tau], P(("weight", [1]), ("density", [0.5]), ("epsilon", [0.2]), ("rescale", [0])), seed: (ulong)s);
            for (int i = 0; i < 3; i++) if (r[i] != 0) { kept[i]++; Assert.Equal(tau[i], r[i]); }
        }
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(kept[i] / (double)seeds - expected[i]) <= 5 * 0.5 / Math.Sqrt(seeds), $"entry {i}: kept {kept[i]}/{seeds}");
    }

    [Fact]
    public void Della_PaperRescale_KeepsExpectedDelta_MergekitMatchesL1()
    {
        float[] tau = [3, 1, 2, -4];
        const int seeds = 2000;
        var sum = new double[4];
        for (int s = 0; s < seeds; s++)
        {
            var r = Merge("della_linear", new float[4], [tau], P(("weight", [1]), ("density", [0.5]), ("epsilon", [0.2]), ("semantics", [1])), seed: (ulong)s);
            for (int i = 0; i < 4; i++) sum[i] += r[i];
        }
        // Worst case keep probability 0.3: Var = τ²(1/0.3 − 1).
        for (int i = 0; i < 4; i++)
            Assert.True(Math.Abs(sum[i] / seeds - tau[i]) <= 5 * Math.Abs(tau[i]) * Math.Sqrt((1 / 0.3 - 1) / seeds), $"entry {i}");
        var mk = Merge("della_linear", new float[4], [tau], P(("weight", [1]), ("density", [0.5]), ("epsilon", [0.2])), seed: 11);
        if (mk.Any(x => x != 0)) Assert.Equal(10.0, mk.Sum(x => Math.Abs((double)x)), 4);
    }

    [Fact]
    public void Della_EpsilonTooWide_IsRejectedByCheck()
    {
        var ex = Assert.Throws<MergeConfigException>(() =>
            new WeightSpace.Analysis.Merging.Config.MergeConfigBuilder("della").WithBase("b").AddModel("a", new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.9, ["epsilon"] = 0.2 })
                .Build() is var c ? MergePlan.Create(c, new Dictionary<string, TensorStore>
                {
                    ["b"] = Store("b", ("w", [0f, 0f], [2])),
                    ["a"] = Store("a", ("w", [1f, 2f], [2])),
                }) : null);
        Assert.Contains("epsilon", ex.Message);
    }
}
