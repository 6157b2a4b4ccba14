using WeightSpace.Tests.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Tests.Analysis.Connectivity;

/// <summary>Barrier formulas on hand-made curves, the evaluator against hand-computed cross-entropy, interpolation,
/// BatchNorm reset and the plane geometry.</summary>
public sealed class ConnectivityTests
{
    private static readonly double[] Alphas = [0, 0.25, 0.5, 0.75, 1];

    [Fact]
    public void Barrier_HandCurve_IsLargestRiseAboveChord()
    {
        // Chord from 1 to 3: 1, 1.5, 2, 2.5, 3. Rises: 0, 0.5, 2, 0, 0.
        double[] loss = [1, 2, 4, 2.5, 3];
        Assert.Equal(2, ConnectivityBarrier.Maximum(Alphas, loss));
        Assert.Equal(2, ConnectivityBarrier.Midpoint(Alphas, loss));
    }

    [Fact]
    public void Barrier_PeakOffMidpoint_DiffersFromMidpointVariant()
    {
        double[] loss = [1, 3, 1.5, 1, 1];   // rises 0, 2, 0.5, 0, 0
        Assert.Equal(2, ConnectivityBarrier.Maximum(Alphas, loss));
        Assert.Equal(0.5, ConnectivityBarrier.Midpoint(Alphas, loss));
    }

    [Fact]
    public void Barrier_Accuracy_IsLargestDropBelowChord()
    {
        double[] accuracy = [0.9, 0.8, 0.5, 0.85, 0.7];   // chord 0.9, 0.85, 0.8, 0.75, 0.7 → drops 0, 0.05, 0.3, −0.1, 0
        Assert.Equal(0.3, ConnectivityBarrier.AccuracyMaximum(Alphas, accuracy), 1e-12);
        Assert.Equal(0.3, ConnectivityBarrier.AccuracyMidpoint(Alphas, accuracy), 1e-12);
    }

    [Fact]
    public void Barrier_ConvexCurve_IsZero() =>
        Assert.Equal(0, ConnectivityBarrier.Maximum(Alphas, [1, 0.5, 0.3, 0.5, 1]));

    [Fact]
    public void Barrier_AlphasNotFromZeroToOne_Throws() =>
        Assert.Throws<ArgumentException>(() => ConnectivityBarrier.Maximum([0.1, 1], [1, 2]));

    [Fact]
    public void Evaluate_OneLinearLayer_MatchesHandCrossEntropy()
    {
        // logits = x Wᵀ + b with W = [[1,0],[0,2],[1,1]], b = [0, 0, -1].
        var store = new InMemoryTensorStore().Add("fc.weight", [1, 0, 0, 2, 1, 1], 3, 2).Add("fc.bias", [0, 0, -1], 3);
        var data = new Dataset([1, 0, 0, 1], [0, 2], new Shape(2));
        // Sample 1: logits (1, 0, 0), label 0. Sample 2: logits (0, 2, 0), label 2 (wrong: argmax 1).
        double l1 = -1 + Math.Log(Math.E + 2), l2 = 0 + Math.Log(2 + Math.Exp(2));
        var e = new TorchModelEvaluator(NetworkArchitecture.Mlp(["fc"]), batchSize: 1).Evaluate(store, data, TestContext.Current.CancellationToken);
        Assert.Equal((l1 + l2) / 2, e.Loss, 1e-6);
        Assert.Equal(0.5, e.Accuracy);
    }

    [Fact]
    public void Lerp_HandValues_InterpolatesFloatsAndKeepsIntegersOfA()
    {
        var a = new InMemoryTensorStore().Add("w", [0, 2], 2).Add(new TensorInfo("n", DType.I64, Shape.Scalar), BitConverter.GetBytes(3L));
        var b = new InMemoryTensorStore().Add("w", [4, -2], 2).Add(new TensorInfo("n", DType.I64, Shape.Scalar), BitConverter.GetBytes(9L));
        var mid = LinearModeConnectivity.Lerp(a, b, 0.25);
        Assert.Equal([1f, 1f], mid.ReadSingle("w"));
        Assert.Equal([3.0], mid.ReadDouble("n"));
    }

    [Fact]
    public void Interpolate_TwoModels_EndpointsEqualSeparateEvaluations()
    {
        var a = Fixtures.Mlp(1, 6, 8, 3);
        var b = Fixtures.Mlp(2, 6, 8, 3);
        var data = Fixtures.Data(3, 64, new Shape(6), 3);
        var evaluator = new TorchModelEvaluator(Fixtures.MlpArchitecture(2));
        var curve = LinearModeConnectivity.Interpolate(a, b, evaluator, data, new ConnectivityOptions { Points = 5 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Alphas, curve.Alphas);
        Assert.Equal(evaluator.Evaluate(a, data, cancellationToken: TestContext.Current.CancellationToken).Loss, curve.Loss[0], 1e-9);
        Assert.Equal(evaluator.Evaluate(b, data, cancellationToken: TestContext.Current.CancellationToken).Loss, curve.Loss[^1], 1e-9);
        Assert.Equal(evaluator.Evaluate(LinearModeConnectivity.Lerp(a, b, 0.5), data, cancellationToken: TestContext.Current.CancellationToken).Loss, curve.Loss[2], 1e-9);
        Assert.Equal(ConnectivityBarrier.Maximum(curve.Alphas, curve.Loss), curve.BarrierLoss);
        Assert.False(curve.NormalizationReset);
    }

    [Fact]
    public void Interpolate_EvenPointCount_AddsMidpoint()
    {
        var a = Fixtures.Mlp(1, 2, 3, 2);
        var curve = LinearModeConnectivity.Interpolate(a, a, new TorchModelEvaluator(Fixtures.MlpArchitecture(2)),
            Fixtures.Data(1, 8, new Shape(2), 2), new ConnectivityOptions { Points = 4 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal([0, 1 / 3.0, 0.5, 2 / 3.0, 1], curve.Alphas);
    }

    [Fact]
    public void ResetNormalization_BatchNormAfterLinear_StoresBatchMeanAndUnbiasedVariance()
    {
        // fc1 = identity on 2 features, so bn1 sees the inputs: column means (2, 5), unbiased variances (4, 9).
        var store = new InMemoryTensorStore()
            .Add("fc1.weight", [1, 0, 0, 1], 2, 2).Add("fc1.bias", [0, 0], 2)
            .Add("bn1.weight", [1, 1], 2).Add("bn1.bias", [0, 0], 2)
            .Add("bn1.running_mean", [0, 0], 2).Add("bn1.running_var", [1, 1], 2)
            .Add("fc2.weight", [1, 0, 0, 1], 2, 2);
        var arch = new NetworkArchitecture([NetworkLayer.Linear("fc1"), NetworkLayer.BatchNorm("bn1"), NetworkLayer.Relu(), NetworkLayer.Linear("fc2")]);
        var data = new Dataset([0, 2, 2, 5, 4, 8], [0, 1, 0], new Shape(2));
        var reset = new TorchModelEvaluator(arch).ResetNormalization(store, data, TestContext.Current.CancellationToken);
        Assert.Equal([2f, 5f], reset.ReadSingle("bn1.running_mean"));
        Assert.Equal([4f, 9f], reset.ReadSingle("bn1.running_var"));
        Assert.Equal([0f, 0f], store.ReadSingle("bn1.running_mean"));   // input untouched
    }

    [Fact]
    public void Interpolate_WithReset_UsesResetStatistics()
    {
        var (a, arch) = Fixtures.Cnn(1);
        var (b, _) = Fixtures.Cnn(2);
        var data = Fixtures.Data(3, 40, new Shape(8, 8), 3);
        var evaluator = new TorchModelEvaluator(arch);
        var curve = LinearModeConnectivity.Interpolate(a, b, evaluator, data, new ConnectivityOptions { Points = 3, NormalizationResetData = data }, cancellationToken: TestContext.Current.CancellationToken);
        var expectedMid = evaluator.Evaluate(evaluator.ResetNormalization(LinearModeConnectivity.Lerp(a, b, 0.5), data, cancellationToken: TestContext.Current.CancellationToken), data, cancellationToken: TestContext.Current.CancellationToken).Loss;
        Assert.Equal(expectedMid, curve.Loss[1], 1e-9);
        Assert.NotEqual(evaluator.Evaluate(LinearModeConnectivity.Lerp(a, b, 0.5), data, cancellationToken: TestContext.Current.CancellationToken).Loss, curve.Loss[1], 1e-6);
        Assert.True(curve.NormalizationReset);
    }

    [Fact]
    public void Plane_GridThroughModels_PlacesModelsAndEvaluatesThem()
    {
        // A = (0,0), B = (3,0), C = (1,2) as 2-element "weights" of a 2→2 linear model with no bias.
        var arch = NetworkArchitecture.Mlp(["fc"]);
        InMemoryTensorStore Model(float x, float y) => new InMemoryTensorStore().Add("fc.weight", [x, y, 0.5f, -0.25f], 2, 2);
        var a = Model(0, 0);
        var b = Model(3, 0);
        var c = Model(1, 2);
        var data = Fixtures.Data(4, 30, new Shape(2), 2);
        var evaluator = new TorchModelEvaluator(arch);

        var plane = LinearModeConnectivity.Plane(a, b, c, evaluator, data, resolution: 4, margin: 0, cancellationToken: TestContext.Current.CancellationToken);

        AssertClose([0, 3, 1], plane.ModelX);
        AssertClose([0, 0, 2], plane.ModelY);
        AssertClose([0, 1, 2, 3], plane.X);
        Assert.Equal(evaluator.Evaluate(a, data, cancellationToken: TestContext.Current.CancellationToken).Loss, plane.Loss[0], 1e-6);
        Assert.Equal(evaluator.Evaluate(b, data, cancellationToken: TestContext.Current.CancellationToken).Loss, plane.Loss[3], 1e-6);
        Assert.Equal(evaluator.Evaluate(c, data, cancellationToken: TestContext.Current.CancellationToken).Loss, plane.Loss[3 * 4 + 1], 1e-6);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-12);
    }
}
