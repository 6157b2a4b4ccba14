using MathNet.Numerics.LinearAlgebra;
using WeightSpace.Analysis.Heads;

namespace WeightSpace.Tests.Analysis.Heads;

public sealed class AttentionHeadAnalysisTests
{
    private const string P = "model.layers.0.self_attn.";

    // A 2-head GQA layer (1 KV head shared by both query heads), d = 4, head_dim = 2, with the circuits worked out by hand.
    private static InMemoryTensorStore HandBuilt() => new InMemoryTensorStore()
        .Add(P + "q_proj.weight", [1, 0, 0, 0, 0, 1, 0, 0, /* head 1 */ 0, 0, 1, 0, 0, 0, 0, 1], 4, 4)
        .Add(P + "k_proj.weight", [2, 0, 0, 0, 0, 0, 3, 0], 2, 4)
        .Add(P + "v_proj.weight", [1, 1, 0, 0, 0, 0, 1, -1], 2, 4)
        .Add(P + "o_proj.weight", [1, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 1], 4, 4);

    private static readonly AttentionHeadOptions TwoHeadsOneKv = new() { HeadCount = 2, KeyValueHeadCount = 1 };

    [Fact]
    public void Per_head_circuits_of_a_hand_built_GQA_layer_equal_the_hand_computed_ones()
    {
        using var store = HandBuilt();
        // W_QK,h = Σ_r q_{h,r} k_rᵀ: head 0 has q rows e1, e2 against k rows 2e1, 3e3; head 1 has e3, e4.
        double[] qk0 = [2, 0, 0, 0, /**/ 0, 0, 3, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0];
        double[] qk1 = [0, 0, 0, 0, /**/ 0, 0, 0, 0, /**/ 2, 0, 0, 0, /**/ 0, 0, 3, 0];
        // W_OV,h = Σ_r o[:, h·2+r] v_rᵀ: head 0 writes (1,1,0,0) on row 0 and 2·(0,0,1,−1) on row 2; head 1 rows 1 and 3.
        double[] ov0 = [1, 1, 0, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 2, -2, /**/ 0, 0, 0, 0];
        double[] ov1 = [0, 0, 0, 0, /**/ 1, 1, 0, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 1, -1];
        Assert.Equal(qk0, AttentionHeadAnalysis.CircuitMatrix(store, 0, 0, HeadCircuit.QueryKey, TwoHeadsOneKv));
        Assert.Equal(qk1, AttentionHeadAnalysis.CircuitMatrix(store, 0, 1, HeadCircuit.QueryKey, TwoHeadsOneKv));
        Assert.Equal(ov0, AttentionHeadAnalysis.CircuitMatrix(store, 0, 0, HeadCircuit.OutputValue, TwoHeadsOneKv));
        Assert.Equal(ov1, AttentionHeadAnalysis.CircuitMatrix(store, 0, 1, HeadCircuit.OutputValue, TwoHeadsOneKv));

        var report = AttentionHeadAnalysis.Analyze(store, options: TwoHeadsOneKv, ct: TestContext.Current.CancellationToken);
        Assert.Equal(2, report.Heads.Count);
        foreach (var h in report.Heads)
        {
            Assert.Equal(0, h.KeyValueHead);
            Assert.Equal([3, 2], h.QueryKey.SingularValues.Select(s => Math.Round(s, 12)));
            Assert.Equal(5, h.QueryKey.Nuclear, 12);
            Assert.Equal(Math.Sqrt(13), h.QueryKey.Frobenius, 12);
            Assert.Equal(Math.Exp(-(0.6 * Math.Log(0.6) + 0.4 * Math.Log(0.4))), h.QueryKey.EffectiveRank, 12);
        }
        // Rows of W_OV,0 are orthogonal with norms 2√2 and √2; those of W_OV,1 are √2 and √2.
        Assert.Equal(2 * Math.Sqrt(2), report.Heads[0].OutputValue.Spectral, 12);
        Assert.Equal(3 * Math.Sqrt(2), report.Heads[0].OutputValue.Nuclear, 12);
        Assert.Equal(2, report.Heads[1].OutputValue.EffectiveRank, 12);
    }

    private static float[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];

    // 4 query heads, 2 KV heads (head h reads KV head h / 2), d = 12, head_dim = 3.
    private static (InMemoryTensorStore Store, float[] Q, float[] K, float[] V, float[] O) RandomLayer(int seed)
    {
        const int d = 12, dh = 3;
        var rng = new Random(seed);
        float[] q = Random(rng, 4 * dh * d), k = Random(rng, 2 * dh * d), v = Random(rng, 2 * dh * d), o = Random(rng, d * 4 * dh);
        var store = new InMemoryTensorStore()
            .Add(P + "q_proj.weight", q, 4 * dh, d).Add(P + "k_proj.weight", k, 2 * dh, d)
            .Add(P + "v_proj.weight", v, 2 * dh, d).Add(P + "o_proj.weight", o, d, 4 * dh);
        return (store, q, k, v, o);
    }

    // The explicit d × d products straight from the nn.Linear layout: the oracle the thin-factor path must match.
    private static Matrix<double> ExplicitQk(float[] q, float[] k, int head, int d = 12, int dh = 3)
    {
        int g = head / 2;
        return Matrix<double>.Build.Dense(d, d, (i, j) => Enumerable.Range(0, dh).Sum(r => (double)q[(head * dh + r) * d + i] * k[(g * dh + r) * d + j]));
    }

    private static Matrix<double> ExplicitOv(float[] o, float[] v, int head, int d = 12, int dh = 3)
    {
        int g = head / 2;
        return Matrix<double>.Build.Dense(d, d, (i, j) => Enumerable.Range(0, dh).Sum(r => (double)o[i * 4 * dh + head * dh + r] * v[(g * dh + r) * d + j]));
    }

    [Fact]
    public void Thin_factor_spectrum_equals_the_singular_values_of_the_explicit_product()
    {
        var (store, q, k, v, o) = RandomLayer(7);
        using var _ = store;
        var report = AttentionHeadAnalysis.Analyze(store, options: new AttentionHeadOptions { HeadCount = 4, KeyValueHeadCount = 2, MaxBatchElements = 1 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal([0, 0, 1, 1], report.Heads.Select(h => h.KeyValueHead));
        foreach (var h in report.Heads)
        {
            var qk = ExplicitQk(q, k, h.Head).Svd(false).S;
            var ov = ExplicitOv(o, v, h.Head).Svd(false).S;
            Assert.Equal(3, h.QueryKey.SingularValues.Length);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(qk[i], h.QueryKey.SingularValues[i], 1e-10 * qk[0]);
                Assert.Equal(ov[i], h.OutputValue.SingularValues[i], 1e-10 * ov[0]);
            }
            Assert.True(qk[3] < 1e-12 * qk[0], "the explicit product has rank head_dim");
        }
    }

    [Fact]
    public void Relative_change_is_exact_and_confined_to_the_perturbed_head()
    {
        var (b, q, k, v, o) = RandomLayer(11);
        using var baseline = b;
        float[] q1 = (float[])q.Clone();
        for (int i = 2 * 3 * 12; i < 3 * 3 * 12; i++) q1[i] += 0.25f * MathF.Sin(i);   // head 2's query rows only
        using var model = new InMemoryTensorStore()
            .Add(P + "q_proj.weight", q1, 12, 12).Add(P + "k_proj.weight", k, 6, 12)
            .Add(P + "v_proj.weight", v, 6, 12).Add(P + "o_proj.weight", o, 12, 12);
        var report = AttentionHeadAnalysis.Analyze(model, baseline, new AttentionHeadOptions { HeadCount = 4, KeyValueHeadCount = 2 }, ct: TestContext.Current.CancellationToken);
        for (int h = 0; h < 4; h++)
        {
            Assert.Equal(0, report.Heads[h].OutputValueChange!.Value, 12);
            if (h != 2) Assert.Equal(0, report.Heads[h].QueryKeyChange!.Value, 12);
        }
        var base2 = ExplicitQk(q, k, 2);
        double expected = (ExplicitQk(q1, k, 2) - base2).FrobeniusNorm() / base2.FrobeniusNorm();
        Assert.Equal(expected, report.Heads[2].QueryKeyChange!.Value, 1e-12);
        Assert.Equal(2, Assert.Single(report.MostChanged(1)).Head);
    }

    [Theory]
    [InlineData(3, 2, "does not divide")]
    [InlineData(2, 3, "must be between 1 and num_attention_heads")]
    [InlineData(3, 3, "has 4 rows, not a multiple of 3")]
    public void Head_counts_that_do_not_fit_are_one_error_naming_the_count_or_tensor(int heads, int kv, string message)
    {
        using var store = HandBuilt();
        var e = Assert.Throws<InvalidHeadLayoutException>(() => AttentionHeadAnalysis.Analyze(store, options: new AttentionHeadOptions { HeadCount = heads, KeyValueHeadCount = kv }, ct: TestContext.Current.CancellationToken));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_layer_out_of_range_names_the_option_and_the_layers()
    {
        using var store = HandBuilt();
        var e = Assert.Throws<InvalidHeadLayoutException>(() => AttentionHeadAnalysis.Analyze(store, options: TwoHeadsOneKv with { Layer = 4 }, ct: TestContext.Current.CancellationToken));
        Assert.StartsWith("--layer: 4 is out of range", e.Message);
    }
}
