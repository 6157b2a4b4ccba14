using WeightSpace.Analysis.Naming;
using WeightSpace.Analysis.Outliers;

namespace WeightSpace.Tests.Analysis.Outliers;

public sealed class OutlierScanTests
{
    private static IReadOnlyList<MatrixOutliers> Scan(TensorStore store, OutlierScanOptions? options = null) =>
        OutlierScan.Scan(store, options, null, TestContext.Current.CancellationToken);

    private static float[] Noise(int count, int seed, float scale = 0.01f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    [Fact]
    public void PlantedOutlier_IsFoundAtItsCoordinates_WithItsRatioToRms()
    {
        const int rows = 64, columns = 300;   // 19200 weights: several 4096-weight blocks, the outlier in a late one
        var w = Noise(rows * columns, 1);
        w[57 * columns + 211] = -3.5f;
        double rms = Math.Sqrt(w.Sum(v => (double)v * v) / w.Length);
        var store = new InMemoryTensorStore("planted").Add("model.layers.2.mlp.down_proj.weight", w, rows, columns);
        var matrix = Assert.Single(Scan(store, new OutlierScanOptions { TopPerMatrix = 1 }));
        Assert.Equal(TensorRole.Down, matrix.Role);
        Assert.Equal(2, matrix.Layer);
        Assert.Equal(rms, matrix.Rms, rms * 1e-6);   // float sums within 4096-weight blocks
        var o = Assert.Single(matrix.Outliers);
        Assert.Equal((57L, 211L, -3.5f), (o.Row, o.Column, o.Value));
        Assert.Equal(3.5 / rms, o.RatioToRms, 3.5 / rms * 1e-6);
    }

    [Fact]
    public void TopN_IsExactlyTheLargestMagnitudes_InOrder()
    {
        const int rows = 40, columns = 250;
        var w = Noise(rows * columns, 2);
        var planted = new (int Row, int Column, float Value)[] { (0, 0, 0.9f), (39, 249, -2f), (10, 100, 1.5f), (20, 5, -1.2f), (33, 33, 1.2f) };
        foreach (var (r, c, v) in planted) w[r * columns + c] = v;
        var store = new InMemoryTensorStore("planted").Add("w.weight", w, rows, columns);
        var found = Scan(store, new OutlierScanOptions { TopPerMatrix = 5 })[0].Outliers;
        // Sorted by |w| descending; the tie |−1.2| = |1.2| goes to the lower flat index (20·250+5 before 33·250+33).
        Assert.Equal([(39L, 249L), (10L, 100L), (20L, 5L), (33L, 33L), (0L, 0L)], found.Select(o => (o.Row, o.Column)).ToArray());
        // Brute force over the whole matrix agrees on the sixth-largest being excluded.
        float sixth = w.Select(MathF.Abs).OrderDescending().ElementAt(5);
        Assert.All(found, o => Assert.True(MathF.Abs(o.Value) > sixth));
    }

    [Fact]
    public void OnlyTwoDimensionalFloatTensors_AreScanned_AndFilterApplies()
    {
        var store = new InMemoryTensorStore("mixed")
            .Add("model.norm.weight", [100f, 1f], 2)
            .Add("a.weight", [1f, 2f, 3f, 4f], 2, 2)
            .Add("b.weight", [5f, 6f, 7f, 8f], 2, 2);
        var all = Scan(store);
        Assert.Equal(["a.weight", "b.weight"], all.Select(m => m.Tensor).ToArray());
        Assert.Equal(4, all[0].Outliers.Count);   // fewer weights than TopPerMatrix: all of them
        var filtered = Scan(store, new OutlierScanOptions { Filter = new System.Text.RegularExpressions.Regex("^b") });
        Assert.Equal((1L, 1L, 8f), (filtered[0].Outliers[0].Row, filtered[0].Outliers[0].Column, filtered[0].Outliers[0].Value));
    }

    [Fact]
    public void NothingToScan_IsOneErrorNamingTheStore()
    {
        var store = new InMemoryTensorStore("vectors.safetensors").Add("norm.weight", [1f, 2f], 2);
        var e = Assert.Throws<InvalidCheckpointException>(() => Scan(store));
        Assert.Contains("vectors.safetensors", e.Message);
    }

    [Fact]
    public void ZeroedStore_ChangesExactlyOneElement_InTheStoredDType()
    {
        var w = new float[] { 1, 2, 3, 4, 5, 6 };
        var bf16 = new byte[12];
        for (int i = 0; i < 6; i++) BitConverter.TryWriteBytes(bf16.AsSpan(i * 2), (ushort)(BitConverter.SingleToUInt32Bits(w[i]) >> 16));
        var inner = new InMemoryTensorStore("m").Add(new TensorInfo("x.weight", DType.BF16, new Shape(2, 3)), bf16).Add("y.weight", w, 2, 3);
        using var zeroed = new ZeroedTensorStore(inner, "x.weight", 1, 2);
        Assert.Equal(DType.BF16, zeroed.GetInfo("x.weight").DType);
        Assert.Equal([1f, 2, 3, 4, 5, 0], zeroed.ReadSingle("x.weight"));
        Assert.Equal(w, zeroed.ReadSingle("y.weight"));
        Assert.Equal(w, inner.ReadSingle("x.weight"));   // the inner store is untouched
        var e = Assert.Throws<InvalidCheckpointException>(() => new ZeroedTensorStore(inner, "x.weight", 2, 0));
        Assert.Contains("[2, 0] is outside it", e.Message);
    }
}
