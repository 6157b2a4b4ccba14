namespace WeightSpace.Tests.Core;

/// <summary>Block-quantised dtype facts (against the ggml block table in the shared data's README) and dequantisation
/// of hand-built blocks whose values are worked out by hand from ggml's definitions.</summary>
public sealed class DTypeBlockTests
{
    [Theory]
    [InlineData(DType.Q8_0, 32, 34)]
    [InlineData(DType.Q4_0, 32, 18)]
    [InlineData(DType.Q4_1, 32, 20)]
    [InlineData(DType.Q5_0, 32, 22)]
    [InlineData(DType.Q5_1, 32, 24)]
    [InlineData(DType.IQ4_NL, 32, 18)]
    [InlineData(DType.Q2_K, 256, 84)]
    [InlineData(DType.Q3_K, 256, 110)]
    [InlineData(DType.Q4_K, 256, 144)]
    [InlineData(DType.Q5_K, 256, 176)]
    [InlineData(DType.Q6_K, 256, 210)]
    [InlineData(DType.IQ4_XS, 256, 136)]
    [InlineData(DType.F32, 1, 4)]
    [InlineData(DType.BF16, 1, 2)]
    public void BlockFacts_MatchGgml(DType dtype, int elements, int bytes)
    {
        Assert.Equal(elements, dtype.BlockElementCount());
        Assert.Equal(bytes, dtype.BytesPerBlock());
        Assert.Equal(elements > 1, dtype.IsBlockQuantized());
        Assert.True(dtype.IsFloatingPoint());
        Assert.Equal(8.0 * bytes / elements, dtype.BitsPerWeight());
        Assert.Equal(3L * bytes, dtype.ByteCount(3L * elements));
    }

    [Fact]
    public void BitsPerWeight_KnownValues()
    {
        Assert.Equal(4.5, DType.Q4_K.BitsPerWeight());
        Assert.Equal(6.5625, DType.Q6_K.BitsPerWeight());
        Assert.Equal(8.5, DType.Q8_0.BitsPerWeight());
        Assert.Equal(32, DType.F32.BitsPerWeight());
    }

    [Fact]
    public void ByteCount_IsChecked()
    {
        Assert.Throws<ArgumentException>(() => DType.Q4_K.ByteCount(255));
        Assert.Throws<ArgumentException>(() => DType.F32.ByteCount(-1));
        Assert.Throws<OverflowException>(() => DType.F32.ByteCount(long.MaxValue / 2));
        Assert.Throws<OverflowException>(() => DType.Q8_0.ByteCount(long.MaxValue / 32 * 32));
        Assert.False(DType.Q6_K.TryGetByteCount(100, out _));
        Assert.True(DType.Q6_K.TryGetByteCount(512, out long bytes));
        Assert.Equal(420, bytes);
        Assert.Throws<NotSupportedException>(() => DType.Q4_K.SizeInBytes());
    }

    [Fact]
    public void TensorInfo_ByteCount_CountsWholeBlocks() =>
        Assert.Equal(4 * 144, new TensorInfo("w", DType.Q4_K, new Shape(2, 512)).ByteCount);

    [Fact]
    public void IQ4_XS_HandBuiltBlock_DequantisesAsGgmlDefinesIt()
    {
        // d = 0.5; group 0: 6-bit scale 34 (low nibble 2, high bits 2) → 0.5·(34 − 32) = 1; group 7: scale 31
        // (low 15, high 1) → −0.5; every other group scale 0 → −16. qs[0] = 0xF0: element 0 is codebook[0] = −127,
        // element 16 codebook[15] = 113. qs[7·16 + 1] = 0x08: element 225 codebook[8] = 1, element 241 codebook[0].
        var block = new byte[136];
        BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)0.5f)).CopyTo(block, 0);
        ushort scalesHigh = (ushort)(2 | (1 << 14));
        BitConverter.GetBytes(scalesHigh).CopyTo(block, 2);
        block[4] = 0x02;          // group 0 low nibble 2, group 1 low nibble 0
        block[7] = 0xF0;          // group 6 low nibble 0, group 7 low nibble 15
        block[8] = 0xF0;
        block[8 + 7 * 16 + 1] = 0x08;
        var y = new float[256];
        DTypeConversion.ToSingle(block, DType.IQ4_XS, y);
        Assert.Equal(-127f, y[0]);
        Assert.Equal(113f, y[16]);
        Assert.Equal(-127f, y[1]);                 // qs[1] = 0 → codebook[0], group 0 scale 1
        Assert.Equal(-16f * -127f, y[32]);         // group 1, scale −16
        Assert.Equal(-0.5f * 1f, y[225]);
        Assert.Equal(-0.5f * -127f, y[241]);
        Assert.Equal(-0.5f * -127f, y[224]);
    }

    [Fact]
    public void Q8_0_HandBuiltBlock_KeepsNegativeZero()
    {
        // d = −2, q = [0, 1, −128, …]: −2·0 is −0.0 in IEEE arithmetic, as gguf-py's NumPy gives; it must not become +0.
        var block = new byte[34];
        BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)(-2f))).CopyTo(block, 0);
        block[3] = 1;
        block[4] = 0x80;
        var y = new float[32];
        DTypeConversion.ToSingle(block, DType.Q8_0, y);
        Assert.True(float.IsNegative(y[0]) && y[0] == 0);
        Assert.Equal(-2f, y[1]);
        Assert.Equal(256f, y[2]);
    }

    [Fact]
    public void ToSingle_PartialBlock_IsRefused()
    {
        var y = new float[64];
        Assert.Throws<ArgumentException>(() => DTypeConversion.ToSingle(new byte[35], DType.Q8_0, y));
        Assert.Throws<ArgumentException>(() => DTypeConversion.ToSingle(new byte[68], DType.Q8_0, new float[63]));
    }
}
