using System.Runtime.InteropServices;
using CsCheck;
using WeightSpace.Analysis.Statistics;

namespace WeightSpace.Tests.Analysis.Statistics;

public sealed class TensorStatisticsTests
{
    private static TensorStatistics Of(DType dtype, byte[] bytes, long count)
    {
        using var store = new InMemoryTensorStore().Add(new TensorInfo("t", dtype, new Shape(count)), bytes);
        using var buffer = store.Read("t");
        return TensorStatistics.Compute(buffer);
    }

    private static TensorStatistics OfFloats(params float[] values) =>
        Of(DType.F32, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), values.Length);

    [Fact]
    public void Compute_HandComputedValues_MatchesByHand()
    {
        // 1,2,3,4: sum 10, mean 2.5, population variance ((1.5²+.5²)·2)/4 = 1.25, L2 = √30.
        var s = OfFloats(1, 2, 3, 4);
        Assert.Equal(4, s.Count);
        Assert.Equal(10, s.Sum);
        Assert.Equal(2.5, s.Mean);
        Assert.Equal(Math.Sqrt(1.25), s.Std, 15);
        Assert.Equal(1, s.Min);
        Assert.Equal(4, s.Max);
        Assert.Equal(Math.Sqrt(30), s.L2, 15);
        Assert.Equal(0, s.NaNCount);
        Assert.Equal(0, s.InfinityCount);
    }

    [Fact]
    public void Compute_NaNAndInfinity_CountedAndPropagated()
    {
        var s = OfFloats(1, float.NaN, float.PositiveInfinity, -2, float.NegativeInfinity);
        Assert.Equal(1, s.NaNCount);
        Assert.Equal(2, s.InfinityCount);
        Assert.True(double.IsNaN(s.Sum));
        Assert.True(double.IsNaN(s.Std));
        Assert.Equal(double.NegativeInfinity, s.Min);
        Assert.Equal(double.PositiveInfinity, s.Max);
    }

    [Fact]
    public void Compute_AllNaN_MinMaxAreNaN()
    {
        var s = OfFloats(float.NaN, float.NaN);
        Assert.True(double.IsNaN(s.Min) && double.IsNaN(s.Max));
        Assert.Equal(2, s.NaNCount);
    }

    [Fact]
    public void Compute_Empty_CountZeroSumZero()
    {
        var s = OfFloats();
        Assert.Equal(0, s.Count);
        Assert.Equal(0, s.Sum);
        Assert.Equal(0, s.L2);
    }

    [Fact]
    public void Compute_LargeOffset_StdHasNoCancellation()
    {
        // 1e4 ± 1e-2 in float32: the naive Σx²−(Σx)²/n formula loses every digit of the variance.
        var values = new float[100_000];
        for (int i = 0; i < values.Length; i++) values[i] = 10_000f + (i % 2 == 0 ? 0.0078125f : -0.0078125f);
        var s = OfFloats(values);
        Assert.Equal(0.0078125, s.Std, 9);
        Assert.Equal(10_000, s.Mean, 9);
    }

    [Fact]
    public void Compute_EveryLength0To300_MatchesNaiveDoubleReference()
    {
        var rng = new Random(7);
        for (int n = 0; n <= 300; n++)
        {
            var values = new float[n];
            for (int i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() * 4 - 1);
            var s = OfFloats(values);
            double sum = 0, sq = 0; foreach (float v in values) { sum += v; sq += (double)v * v; }
            double mean = n == 0 ? double.NaN : sum / n;
            double var_ = 0; foreach (float v in values) var_ += (v - mean) * (v - mean);
            Assert.Equal(sum, s.Sum, 1e-12 * Math.Max(1, Math.Abs(sum)) + 1e-12);
            Assert.Equal(Math.Sqrt(sq), s.L2, 1e-12 * Math.Sqrt(sq) + 1e-15);
            if (n > 0)
            {
                Assert.Equal(Math.Sqrt(var_ / n), s.Std, 1e-10);
                Assert.Equal(values.Min(), s.Min);
                Assert.Equal(values.Max(), s.Max);
            }
        }
    }

    [Fact]
    public void Compute_AcrossChunkBoundaries_SameAsOneChunkDefinition() =>
        Gen.Int[0, 70_000].Select(Gen.Int).Sample((n, seed) =>
        {
            var rng = new Random(seed);
            var values = new float[n];
            for (int i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() - 0.3);
            var s = OfFloats(values);
            double sum = 0; foreach (float v in values) sum += v;
            return Math.Abs(sum - s.Sum) <= 1e-9 * Math.Max(1, n) && s.Count == n;
        }, iter: 40);

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F64)]
    [InlineData(DType.I64)]
    [InlineData(DType.I8)]
    public void Compute_OtherDTypes_EqualsStatisticsOfConvertedValues(DType dtype)
    {
        // Values exactly representable in every listed dtype.
        double[] values = [-3, -1, 0, 2, 5, 7, 1];
        byte[] bytes = dtype switch
        {
            DType.F16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
            DType.BF16 => values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits((float)v) >> 16))).ToArray(),
            DType.F64 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            DType.I64 => MemoryMarshal.AsBytes(values.Select(v => (long)v).ToArray().AsSpan()).ToArray(),
            DType.I8 => values.Select(v => (byte)(sbyte)v).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
        var s = Of(dtype, bytes, values.Length);
        Assert.Equal(11, s.Sum);
        Assert.Equal(-3, s.Min);
        Assert.Equal(7, s.Max);
        Assert.Equal(Math.Sqrt(values.Sum(v => v * v)), s.L2, 12);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void Compute_SplitAcrossThreads_EqualsSingleThread(int threads)
    {
        var rng = new Random(3);
        var values = new float[1_000_003];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 0.7);
        values[777_777] = float.NaN;
        values[12] = float.PositiveInfinity;
        using var store = new InMemoryTensorStore().Add("t", values, values.Length);
        using var buffer = store.Read("t");
        var one = TensorStatistics.Compute(buffer, 1);
        var many = TensorStatistics.Compute(buffer, threads);
        Assert.Equal(one.Count, many.Count);
        Assert.Equal(1, many.NaNCount);
        Assert.Equal(1, many.InfinityCount);
        Assert.Equal(one.Min, many.Min);
        Assert.Equal(one.Max, many.Max);
        Assert.True(double.IsNaN(many.Sum) && double.IsNaN(many.Std));

        values[777_777] = 0.5f; values[12] = 0.25f;
        using var clean = new InMemoryTensorStore().Add("t", values, values.Length);
        using var cleanBuffer = clean.Read("t");
        var a = TensorStatistics.Compute(cleanBuffer, 1);
        var b = TensorStatistics.Compute(cleanBuffer, threads);
        Assert.Equal(a.Sum, b.Sum, 1e-9 * Math.Abs(a.Sum));
        Assert.Equal(a.Std, b.Std, 1e-12);
        Assert.Equal(a.Mean, b.Mean, 1e-14);
        Assert.Equal(a.L2, b.L2, 1e-9 * a.L2);
    }
}
