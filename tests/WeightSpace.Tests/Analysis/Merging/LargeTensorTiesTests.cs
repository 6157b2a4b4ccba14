using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>Tensors big enough for the runner's chunked parallel copy-in (≥ 8 Mi elements) and the method's parallel
/// trim and election (≥ 1 Mi), against a plain serial TIES written from the paper's three steps.</summary>
public sealed class LargeTensorTiesTests
{
    [Fact]
    public void Run_TiesOnLargeTensor_EqualsSerialReference()
    {
        const int n = (1 << 23) + 37;   // not a multiple of any chunk or vector width
        var rng = new Random(7);
        var theta0 = new float[n];
        var models = new float[3][];
        for (int i = 0; i < n; i++) theta0[i] = (float)(rng.NextDouble() - 0.5);
        for (int m = 0; m < 3; m++)
        {
            models[m] = new float[n];
            // Coarse steps make many equal magnitudes, so the tie rule at the threshold is exercised too.
            for (int i = 0; i < n; i++) models[m][i] = theta0[i] + rng.Next(-50, 51) / 1000f;
        }
        var stores = new Dictionary<string, TensorStore> { ["base"] = new InMemoryTensorStore("base").Add("w", theta0, n) };
        var builder = new MergeConfigBuilder("ties").WithBase("base");
        double[] weights = [1.0, 0.5, 2.0];
        for (int m = 0; m < 3; m++)
        {
            stores[$"m{m}"] = new InMemoryTensorStore($"m{m}").Add("w", models[m], n);
            builder.AddModel($"m{m}", new Dictionary<string, double> { ["weight"] = weights[m], ["density"] = 0.3 });
        }
        var sink = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(builder.Build(), stores), sink, maxParallelism: 2, ct: TestContext.Current.CancellationToken);

        // Reference: trim each τ to its int(0.3·n) largest |τ| (ties: lowest index first), vote on Σ wτ̂ (≥ 0 → +),
        // mean of the agreeing wτ̂ over the agreeing weights (mergekit semantics, normalize, λ = 1).
        var trimmed = new float[3][];
        int k = (int)(0.3 * n);
        for (int m = 0; m < 3; m++)
        {
            var tau = new float[n];
            for (int i = 0; i < n; i++) tau[i] = models[m][i] - theta0[i];
            var order = Enumerable.Range(0, n).ToArray();
            var keys = tau.Select(Math.Abs).ToArray();
            Array.Sort(keys, order, Comparer<float>.Create((a, b) => b.CompareTo(a)));
            float threshold = keys[k - 1];
            int tiesKept = keys.Take(k).Count(x => x == threshold);
            trimmed[m] = new float[n];
            for (int i = 0; i < n; i++)
            {
                float a = Math.Abs(tau[i]);
                if (a > threshold || (a == threshold && tiesKept-- > 0)) trimmed[m][i] = tau[i];
            }
        }
        var result = sink.Floats["w"];
        for (int i = 0; i < n; i++)
        {
            float vote = 0;
            for (int m = 0; m < 3; m++) vote += trimmed[m][i] * (float)weights[m];
            float sign = vote < 0 ? -1 : 1, sum = 0, weightSum = 0;
            for (int m = 0; m < 3; m++)
            {
                if (trimmed[m][i] * (float)weights[m] * sign <= 0) continue;
                sum += trimmed[m][i] * (float)weights[m];
                weightSum += (float)weights[m];
            }
            float expected = theta0[i] + sum / (weightSum == 0 ? 1 : weightSum);
            if (Math.Abs(expected - result[i]) > 1e-6f) Assert.Fail($"element {i}: expected {expected}, got {result[i]}");
        }
    }
}
