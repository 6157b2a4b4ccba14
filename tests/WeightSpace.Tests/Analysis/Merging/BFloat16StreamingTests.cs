using System.Runtime.InteropServices;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Kernels;
using WeightSpace.Analysis.Merging.Methods;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>The streaming kernel reading BF16 inputs in its own loads, then rounded to BF16 as the safetensors sink does,
/// against a float64 evaluation of the formula rounded to nearest even by value comparison (no bit tricks shared with the
/// code under test). Inputs are chosen so float32 arithmetic is exact (values in [1, 2) or subnormal, weights powers of
/// two): every difference between the two is then a widening or rounding bug, not arithmetic error.</summary>
public sealed class BFloat16StreamingTests
{
    private const int N = 300_003;   // two chunks of 2^18 and a partial one; not a multiple of any vector width

    private static ushort Bf16(float value) => (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16);   // exact for the values used

    private static (ushort[] Base, ushort[][] Models) Inputs()
    {
        var rng = new Random(31);
        ushort Random1To2() => (ushort)(0x3F80 + rng.Next(0, 128) | (rng.Next(2) == 0 ? 0 : 0x8000));   // ±[1, 2), every 8-bit mantissa
        var theta0 = new ushort[N];
        var models = new ushort[3][];
        for (int j = 0; j < N; j++) theta0[j] = Random1To2();
        for (int m = 0; m < 3; m++)
        {
            models[m] = new ushort[N];
            for (int j = 0; j < N; j++) models[m][j] = Random1To2();
        }
        // Rounding ties on purpose (also plenty at random): θ₀ = 1, τ₁ = 2⁻⁷ with weight ½ gives 1 + 2⁻⁸, halfway between
        // 1 and 1 + 2⁻⁷: even is 1. Adding τ₀ = 2⁻⁷ gives 1 + 3·2⁻⁸, halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: even is up.
        Set(0, 1f, 1f, 1f + 1 / 128f, 1f);
        Set(1, 1f, 1f + 1 / 128f, 1f + 1 / 128f, 1f);
        Set(2, 1f, float.NaN, 1f, 1f);                                         // NaN propagates
        Set(3, 1f, float.PositiveInfinity, 1f, 1f);                           // ∞ − 1 = ∞
        Set(4, 1f, float.PositiveInfinity, float.NegativeInfinity, 1f);       // ∞ − ∞ = NaN
        Set(5, 1f, -1f, 1f, 1f);                                              // exact cancellation to +0… and −0 input below
        Set(6, -0f, -0f, -0f, -0f);
        // Subnormal BF16 (exponent field 0): 2⁻¹³³·k. τ and the weighted sum stay subnormal floats, exact in float32.
        theta0[7] = 0x0001; models[0][7] = 0x0005; models[1][7] = 0x8003; models[2][7] = 0x007F;
        theta0[8] = 0x8040; models[0][8] = 0x0040; models[1][8] = 0x0000; models[2][8] = 0x0010;
        return (theta0, models);

        void Set(int j, float b, float m0, float m1, float m2)
        {
            theta0[j] = Bf16(b);
            models[0][j] = Bf16(m0);
            models[1][j] = Bf16(m1);
            models[2][j] = Bf16(m2);
        }
    }

    private static double Value(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Nearest BF16 to <paramref name="v"/> by comparing distances to the two neighbours; ties to the even one.</summary>
    private static double RoundToBf16(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v) || v == 0) return v;
        double magnitude = Math.Abs(v);
        // Neighbours: the BF16 values just below and above |v|, found by scanning the ordered positive bit patterns.
        int lo = 0, hi = 0x7F80;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (Value((ushort)mid) <= magnitude) lo = mid; else hi = mid;
        }
        double below = Value((ushort)lo), above = Value((ushort)hi);
        double pick = magnitude - below < above - magnitude ? below
            : magnitude - below > above - magnitude ? above
            : (lo & 1) == 0 ? below : above;
        return v < 0 ? -pick : pick;
    }

    private static float[] Run(string method, Dictionary<string, double[]> parameters, ushort[]? theta0, ushort[][] models)
    {
        var m = (IStreamingMergeMethod)MergeMethods.Get(method);
        var p = MergeParameters.Create(m.Parameters, 3, parameters);
        var actual = new float[N];
        var pins = models.Select(x => GCHandle.Alloc(x, GCHandleType.Pinned)).ToList();
        var basePin = theta0 is null ? (GCHandle?)null : GCHandle.Alloc(theta0, GCHandleType.Pinned);
        var outPin = GCHandle.Alloc(actual, GCHandleType.Pinned);
        try
        {
            var info = new TensorInfo("w", DType.BF16, new Shape(N));
            var b = new StreamInput(basePin?.AddrOfPinnedObject() ?? 0, DType.BF16);
            m.MergeReadOnly(info, p, null, b, pins.Select(h => new StreamInput(h.AddrOfPinnedObject(), DType.BF16)).ToArray(), outPin.AddrOfPinnedObject());
        }
        finally
        {
            foreach (var h in pins) h.Free();
            basePin?.Free();
            outPin.Free();
        }
        return actual;
    }

    private static void AssertRoundsLikeReference(float[] merged, Func<int, double> reference)
    {
        var stored = new byte[N * 2];
        DTypeConversion.FromSingle(merged, DType.BF16, stored);   // what SafetensorsTensorSink writes for a BF16 output
        var bits = MemoryMarshal.Cast<byte, ushort>(stored);
        for (int j = 0; j < N; j++)
        {
            double expected = RoundToBf16(reference(j)), actual = Value(bits[j]);
            if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual), $"[{j}]: expected NaN, got {actual}");
            else Assert.True(expected.Equals(actual), $"[{j}]: expected {expected:R}, got {actual:R} (bits {bits[j]:X4})");
        }
    }

    [Fact]
    public void TaskArithmetic_Bf16Inputs_RoundLikeFloat64Reference()
    {
        var (theta0, models) = Inputs();
        double[] w = [1, 0.5, 0.25];
        var merged = Run("task_arithmetic", new() { ["weight"] = w }, theta0, models);
        AssertRoundsLikeReference(merged, j =>
        {
            double b = Value(theta0[j]);
            return b + w[0] * (Value(models[0][j]) - b) + w[1] * (Value(models[1][j]) - b) + w[2] * (Value(models[2][j]) - b);
        });
        // Before rounding the float32 results are exact: the two halfway cases really are ties.
        Assert.Equal(1f + 1 / 256f, merged[0]);
        Assert.Equal(1f + 3 / 256f, merged[1]);
    }

    [Fact]
    public void Ties_DensityOne_Bf16Inputs_RoundLikeFloat64Reference()
    {
        // TIES with every entry kept, weights 1 and no normalisation: θ₀ + Σ over τᵢ agreeing with sign(Σ τ), mergekit's
        // election (a sum that is not negative, NaN included, elects +; a NaN τ agrees with nothing).
        var (theta0, models) = Inputs();
        var merged = Run("ties", new() { ["weight"] = [1, 1, 1], ["density"] = [1], ["normalize"] = [0] }, theta0, models);
        AssertRoundsLikeReference(merged, j =>
        {
            double b = Value(theta0[j]);
            var tau = models.Select(x => Value(x[j]) - b).ToArray();
            double vote = tau.Sum();
            double elected = vote < 0 ? -1 : 1;
            return b + tau.Where(t => t * elected > 0).Sum();
        });
    }

    [Fact]
    public void Linear_WithoutBase_Bf16Inputs_RoundLikeFloat64Reference()
    {
        var (_, models) = Inputs();
        double[] w = [0.5, 0.25, 2];
        var merged = Run("linear", new() { ["weight"] = w, ["normalize"] = [0] }, null, models);
        AssertRoundsLikeReference(merged, j => w[0] * Value(models[0][j]) + w[1] * Value(models[1][j]) + w[2] * Value(models[2][j]));
    }
}
