using System.Runtime.InteropServices;

namespace WeightSpace.Tests.Core;

public sealed class DTypeConversionTests
{
    private static float One(DType dtype, params byte[] bytes)
    {
        var dst = new float[1];
        DTypeConversion.ToSingle(bytes, dtype, dst);
        return dst[0];
    }

    [Theory]
    // e4m3fn: bias 7. 0x38 = 0.0111.000 = 2^0 = 1; 0x7E = 0.1111.110 = 1.75·2^8 = 448 (the format's max);
    // 0x01 = smallest subnormal 2^-9; 0x7F = NaN; 0xB8 = -1.
    [InlineData(0x38, 1f)]
    [InlineData(0x7E, 448f)]
    [InlineData(0x01, 0.001953125f)]
    [InlineData(0xB8, -1f)]
    [InlineData(0x00, 0f)]
    public void ToSingle_Float8E4M3_HandDecodedValues(byte bits, float expected) =>
        Assert.Equal(expected, One(DType.F8_E4M3, bits));

    [Fact]
    public void ToSingle_Float8E4M3_OnlyAllOnesMantissaIsNaN()
    {
        Assert.True(float.IsNaN(One(DType.F8_E4M3, 0x7F)));
        Assert.True(float.IsNaN(One(DType.F8_E4M3, 0xFF)));
        Assert.Equal(-448f, One(DType.F8_E4M3, 0xFE));   // no infinities in e4m3fn
    }

    [Theory]
    // e5m2: bias 15. 0x3C = 0.01111.00 = 1; 0x7B = 0.11110.11 = 1.75·2^15 = 57344 (max); 0x7C = +inf; 0x01 = 2^-16.
    [InlineData(0x3C, 1f)]
    [InlineData(0x7B, 57344f)]
    [InlineData(0x7C, float.PositiveInfinity)]
    [InlineData(0xFC, float.NegativeInfinity)]
    [InlineData(0x01, 1.52587890625e-05f)]
    public void ToSingle_Float8E5M2_HandDecodedValues(byte bits, float expected) =>
        Assert.Equal(expected, One(DType.F8_E5M2, bits));

    [Fact]
    public void ToSingle_BFloat16_IsUpperHalfOfFloat32()
    {
        // 0x3FC0 → 0x3FC00000 = 1.5; 0xC040 → -3.0
        Assert.Equal(1.5f, One(DType.BF16, 0xC0, 0x3F));
        Assert.Equal(-3f, One(DType.BF16, 0x40, 0xC0));
    }

    [Theory]
    // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1+2^-7: ties to even → 1.0 (0x3F80).
    [InlineData(0x3F80_8000u, (ushort)0x3F80)]
    // 1 + 3·2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6: ties to even → 0x3F82.
    [InlineData(0x3F81_8000u, (ushort)0x3F82)]
    // just above halfway rounds up.
    [InlineData(0x3F80_8001u, (ushort)0x3F81)]
    [InlineData(0x7F80_0000u, (ushort)0x7F80)]   // +inf stays inf
    public void FromSingle_BFloat16_RoundsToNearestEven(uint floatBits, ushort expected) =>
        Assert.Equal(expected, DTypeConversion.FloatBitsToBFloat16(floatBits));

    [Fact]
    public void FromSingle_BFloat16NaN_StaysNaN()
    {
        ushort b = DTypeConversion.FloatBitsToBFloat16(0x7FC0_0001u);
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)b << 16)));
        // A NaN whose payload sits only in the low bits must not round into infinity.
        ushort low = DTypeConversion.FloatBitsToBFloat16(0x7F80_0001u);
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)low << 16)));
    }

    [Fact]
    public void RoundTrip_F16AndBF16_ExactForRepresentableValues()
    {
        float[] values = [0f, -0f, 1f, -2.5f, 65504f, 0.000061035156f, float.PositiveInfinity];
        foreach (var dtype in new[] { DType.F16, DType.BF16 })
        {
            var bytes = new byte[values.Length * 2];
            var back = new float[values.Length];
            float[] input = dtype == DType.BF16 ? values.Where(v => v != 65504f).ToArray() : values;
            DTypeConversion.FromSingle(input, dtype, bytes);
            DTypeConversion.ToSingle(bytes.AsSpan(0, input.Length * 2), dtype, back);
            Assert.Equal(input, back[..input.Length]);
        }
    }

    [Fact]
    public void ToDouble_I64Large_ExactWhereFloat32WouldRound()
    {
        long[] values = [8_000_000_001L, -9_007_199_254_740_991L];
        var dst = new double[2];
        DTypeConversion.ToDouble(MemoryMarshal.AsBytes(values.AsSpan()), DType.I64, dst);
        Assert.Equal(8_000_000_001d, dst[0]);
        Assert.Equal(-9_007_199_254_740_991d, dst[1]);
    }

    [Fact]
    public void ToSingle_PartialElement_Throws() =>
        Assert.Throws<ArgumentException>(() => DTypeConversion.ToSingle(new byte[3], DType.F32, new float[1]));

    [Fact]
    public void BFloat16_VectorPathsEqualTheScalarDefinition_ForEveryKindOfBitPattern()
    {
        // Random patterns plus NaNs (quiet and signalling, both signs), ±∞, ±0, subnormals, the largest finite values and
        // exact rounding ties (low half 0x8000, with even and odd kept halves); an odd length leaves a scalar tail.
        var rng = new Random(5);
        var patterns = new List<uint> { 0x7FC0_0001, 0xFF80_0001, 0x7F80_0000, 0xFF80_0000, 0, 0x8000_0000, 1, 0x807F_FFFF,
            0x7F7F_FFFF, 0xFF7F_FFFF, 0x3F80_8000, 0x3F81_8000, 0x3F80_7FFF, 0x3F81_8001 };
        while (patterns.Count < 100_003) patterns.Add((uint)rng.NextInt64(0, 1L << 32));
        var source = MemoryMarshal.Cast<uint, float>(patterns.ToArray()).ToArray();
        var bytes = new byte[source.Length * 2];
        DTypeConversion.FromSingle(source, DType.BF16, bytes);
        var encoded = MemoryMarshal.Cast<byte, ushort>(bytes);
        for (int i = 0; i < patterns.Count; i++)
            Assert.True(DTypeConversion.FloatBitsToBFloat16(patterns[i]) == encoded[i], $"pattern {patterns[i]:x8} at {i}");
        var decoded = new float[source.Length];
        DTypeConversion.ToSingle(bytes, DType.BF16, decoded);
        var decodedBits = MemoryMarshal.Cast<float, uint>(decoded);
        for (int i = 0; i < patterns.Count; i++)
            Assert.True((uint)encoded[i] << 16 == decodedBits[i], $"bf16 {encoded[i]:x4} at {i}");
    }

    public static TheoryData<DType, byte[], double> MinusTwoInEveryDType => new()
    {
        // Hand-encoded: F16/BF16 -2 = sign 1, exponent 1 + bias; e4m3fn 1.1000.000 (bias 7); e5m2 1.10000.00 (bias 15).
        { DType.F64, BitConverter.GetBytes(-2.0), -2 },
        { DType.F32, BitConverter.GetBytes(-2f), -2 },
        { DType.F16, [0x00, 0xC0], -2 },
        { DType.BF16, [0x00, 0xC0], -2 },
        { DType.F8_E4M3, [0xC0], -2 },
        { DType.F8_E5M2, [0xC0], -2 },
        { DType.I64, BitConverter.GetBytes(-2L), -2 },
        { DType.I32, BitConverter.GetBytes(-2), -2 },
        { DType.I16, BitConverter.GetBytes((short)-2), -2 },
        { DType.I8, [0xFE], -2 },
        { DType.U8, [0xFE], 254 },    // unsigned: the same byte is 254
        { DType.Bool, [0x02], 1 },    // any non-zero byte is true
    };

    [Theory]
    [MemberData(nameof(MinusTwoInEveryDType))]
    public void ToSingleAndToDouble_DecodeEveryDTypeAlike(DType dtype, byte[] bytes, double expected)
    {
        var single = new float[1];
        var dbl = new double[1];
        DTypeConversion.ToSingle(bytes, dtype, single);
        DTypeConversion.ToDouble(bytes, dtype, dbl);
        Assert.Equal(expected, dbl[0]);
        Assert.Equal((float)expected, single[0]);
    }

    [Fact]
    public void FromSingle_F16_RoundsOutOfRangeToInfinityAndBack()
    {
        var bytes = new byte[4];
        DTypeConversion.FromSingle([1e6f, -1e6f], DType.F16, bytes);
        var back = new float[2];
        DTypeConversion.ToSingle(bytes, DType.F16, back);
        Assert.Equal(new[] { float.PositiveInfinity, float.NegativeInfinity }, back);
    }
}
