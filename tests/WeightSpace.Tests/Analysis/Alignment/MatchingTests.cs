using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary>Weight and activation matching: a permuted copy aligns back exactly; on unrelated models the objective
/// never decreases.</summary>
public sealed class MatchingTests
{
    [Fact]
    public void WeightMatching_RandomlyPermutedMlp_AlignsBackExactlyWithZeroBarrier()
    {
        var a = Fixtures.Mlp(11, 10, 24, 20, 5);
        var spec = PermutationSpec.Mlp(a);
        var hidden = Fixtures.RandomPermutations(7, spec.ResolveSizes(a));
        var b = spec.Apply(a, hidden);

        var result = WeightMatching.Align(a, b, spec, cancellationToken: TestContext.Current.CancellationToken);
        var aligned = spec.Apply(b, result.Permutations);

        Fixtures.AssertStoresEqual(a, aligned);
        // B = π(A) reads unit hidden[i] of A at i; undoing it reads unit i of B at hidden[i].
        foreach (string g in spec.Groups)
            for (int i = 0; i < hidden[g].Length; i++) Assert.Equal(i, result.Permutations[g][hidden[g][i]]);
        Assert.Equal(0, result.DistanceAfter);
        Assert.True(result.DistanceBefore > 1);
        var data = Fixtures.Data(1, 50, new Shape(10), 5);
        var curve = LinearModeConnectivity.Interpolate(a, aligned, new TorchModelEvaluator(Fixtures.MlpArchitecture(3)), data, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, curve.BarrierLoss, 1e-6);
        Assert.Equal(0, curve.BarrierAccuracy, 1e-9);
    }

    [Fact]
    public void WeightMatching_RandomlyPermutedCnn_AlignsBackExactly()
    {
        var (a, arch) = Fixtures.Cnn(2);
        var spec = PermutationSpec.FromArchitecture(arch, a);
        var b = spec.Apply(a, Fixtures.RandomPermutations(3, spec.ResolveSizes(a)));
        var result = WeightMatching.Align(a, b, spec, new WeightMatchingOptions { Seed = 5 }, cancellationToken: TestContext.Current.CancellationToken);
        Fixtures.AssertStoresEqual(a, spec.Apply(b, result.Permutations));
        Assert.All(result.Groups, g => Assert.Equal(0, g.DistanceAfter));
    }

    [Fact]
    public void WeightMatching_RandomlyPermutedResNet_AlignsBackExactly()
    {
        var a = TinyResNet.Store(4);
        var spec = PermutationSpec.ResNet(a);
        var b = spec.Apply(a, Fixtures.RandomPermutations(8, spec.ResolveSizes(a)));
        var result = WeightMatching.Align(a, b, spec, cancellationToken: TestContext.Current.CancellationToken);
        Fixtures.AssertStoresEqual(a, spec.Apply(b, result.Permutations));
    }

    [Fact]
    public void WeightMatching_UnrelatedMlps_RaisesObjectiveAndLowersDistance()
    {
        var a = Fixtures.Mlp(20, 6, 32, 32, 4);
        var b = Fixtures.Mlp(21, 6, 32, 32, 4);
        var spec = PermutationSpec.Mlp(a);
        var result = WeightMatching.Align(a, b, spec, cancellationToken: TestContext.Current.CancellationToken);
        // Each accepted step strictly raises Σ⟨A, π(B)⟩; with ‖A‖, ‖π(B)‖ fixed that lowers ‖A − π(B)‖.
        Assert.True(result.DistanceAfter < result.DistanceBefore, $"{result.DistanceAfter} vs {result.DistanceBefore}");
        double before = result.Groups.Sum(g => g.ObjectiveBefore), after = result.Groups.Sum(g => g.ObjectiveAfter);
        Assert.True(after > before, $"objective {before} -> {after}");
        // The reported after-distance is the distance of the store Apply returns.
        var aligned = spec.Apply(b, result.Permutations);
        double sq = 0;
        foreach (var t in a.Tensors)
        {
            var x = a.ReadDouble(t.Name);
            var y = aligned.ReadDouble(t.Name);
            for (int i = 0; i < x.Length; i++) sq += (x[i] - y[i]) * (x[i] - y[i]);
        }
        Assert.Equal(Math.Sqrt(sq), result.DistanceAfter, 1e-9);
    }

    [Fact]
    public void WeightMatching_SameSeed_SameResult()
    {
        var a = Fixtures.Mlp(30, 5, 16, 16, 3);
        var b = Fixtures.Mlp(31, 5, 16, 16, 3);
        var spec = PermutationSpec.Mlp(a);
        var r1 = WeightMatching.Align(a, b, spec, new WeightMatchingOptions { Seed = 3 }, cancellationToken: TestContext.Current.CancellationToken);
        var r2 = WeightMatching.Align(a, b, spec, new WeightMatchingOptions { Seed = 3 }, cancellationToken: TestContext.Current.CancellationToken);
        foreach (string g in spec.Groups) Assert.Equal(r1.Permutations[g], r2.Permutations[g]);
    }

    [Fact]
    public void ActivationMatching_RandomlyPermutedMlp_AlignsBackExactly()
    {
        // Dead ReLUs (constant zero) would be interchangeable: a permutation among them is as good as the identity.
        var a = Fixtures.Mlp(12, 2.0, 10, 24, 20, 5);
        var spec = PermutationSpec.Mlp(a);
        var b = spec.Apply(a, Fixtures.RandomPermutations(9, spec.ResolveSizes(a)));
        var data = Fixtures.Data(2, 400, new Shape(10), 5);

        var result = ActivationMatching.Align(a, b, spec, Fixtures.MlpArchitecture(3), data, cancellationToken: TestContext.Current.CancellationToken);

        Fixtures.AssertStoresEqual(a, spec.Apply(b, result.Permutations));
        Assert.Equal("activation_matching", result.Method);
    }

    [Fact]
    public void ActivationMatching_RandomlyPermutedCnn_AlignsBackExactly()
    {
        var (a, arch) = Fixtures.Cnn(6, biasOffset: 2);
        var spec = PermutationSpec.FromArchitecture(arch, a);
        var b = spec.Apply(a, Fixtures.RandomPermutations(1, spec.ResolveSizes(a)));
        var result = ActivationMatching.Align(a, b, spec, arch, Fixtures.Data(3, 200, new Shape(8, 8), 3), cancellationToken: TestContext.Current.CancellationToken);
        Fixtures.AssertStoresEqual(a, spec.Apply(b, result.Permutations));
    }
}
