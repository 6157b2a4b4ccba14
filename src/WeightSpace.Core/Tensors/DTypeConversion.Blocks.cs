using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace WeightSpace;

// Dequantisation of ggml's block-quantised types to float32.
//
// Semantics are llama.cpp's (ggml-quants.c dequantize_row_*) and, operation for operation, gguf-py's quants.py
// (dequantize_blocks): every scale is formed first as one float32 product (d · sub-scale), then each element is one
// product d_g · q and, for the types with a minimum, one float32 addition or subtraction. .NET never contracts a·b + c
// into a fused multiply-add, so the float32 results are bit-identical to gguf-py's NumPy output (the tests compare
// sha256 of the float32 bytes). -0.0 is kept: a pure scale is never written as d·q + 0.
//
// Each block is unpacked into signed 8-bit quants 16 at a time with Vector128 (nibble masks, bit-plane shifts), then
// widened, converted and scaled 4 floats at a time; Vector128 is hardware accelerated on x64 and Arm64 and correct
// (in software) everywhere else.
public static partial class DTypeConversion
{
    // IQ4_NL/IQ4_XS codebook (ggml kvalues_iq4nl).
    private static ReadOnlySpan<sbyte> Iq4Codebook => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    private static void Dequantize(ReadOnlySpan<byte> source, DType dtype, Span<float> destination)
    {
        int perBlock = dtype.BytesPerBlock(), elements = dtype.BlockElementCount();
        int blocks = source.Length / perBlock;
        for (int b = 0; b < blocks; b++)
        {
            var block = source.Slice(b * perBlock, perBlock);
            var y = destination.Slice(b * elements, elements);
            switch (dtype)
            {
                case DType.Q4_0: Q4_0(block, y); break;
                case DType.Q4_1: Q4_1(block, y); break;
                case DType.Q5_0: Q5_0(block, y); break;
                case DType.Q5_1: Q5_1(block, y); break;
                case DType.Q8_0: Q8_0(block, y); break;
                case DType.Q2_K: Q2_K(block, y); break;
                case DType.Q3_K: Q3_K(block, y); break;
                case DType.Q4_K: Q4_K(block, y); break;
                case DType.Q5_K: Q5_K(block, y); break;
                case DType.Q6_K: Q6_K(block, y); break;
                case DType.IQ4_NL: IQ4_NL(block, y); break;
                case DType.IQ4_XS: IQ4_XS(block, y); break;
                default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a block-quantised dtype.");
            }
        }
    }

    // block_q4_0: f16 d, 16 bytes of nibbles; element l is the low nibble of byte l, element 16 + l the high one.
    private static void Q4_0(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        var qs = Load(b, 2);
        var eight = Vector128.Create((sbyte)8);
        Scale(Low(qs) - eight, d, y[..16]);
        Scale(High(qs) - eight, d, y[16..]);
    }

    // block_q4_1: f16 d, f16 m, 16 bytes of nibbles; x = d·q + m.
    private static void Q4_1(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0), m = Half(b, 2);
        var qs = Load(b, 4);
        ScaleAdd(Low(qs), d, m, y[..16]);
        ScaleAdd(High(qs), d, m, y[16..]);
    }

    // block_q5_0: f16 d, u32 qh (bit i is element i's fifth bit), 16 bytes of nibbles; x = d·(q − 16).
    private static void Q5_0(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[2..]);
        var qs = Load(b, 6);
        var sixteen = Vector128.Create((sbyte)16);
        Scale((Low(qs) | FifthBits(qh)) - sixteen, d, y[..16]);
        Scale((High(qs) | FifthBits(qh >> 16)) - sixteen, d, y[16..]);
    }

    // block_q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles; x = d·q + m.
    private static void Q5_1(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0), m = Half(b, 2);
        uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        var qs = Load(b, 8);
        ScaleAdd(Low(qs) | FifthBits(qh), d, m, y[..16]);
        ScaleAdd(High(qs) | FifthBits(qh >> 16), d, m, y[16..]);
    }

    // block_q8_0: f16 d, 32 int8 quants; x = d·q.
    private static void Q8_0(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        Scale(Load(b, 2), d, y[..16]);
        Scale(Load(b, 18), d, y[16..]);
    }

    // block_q2_K: scales[16] (low nibble scale, high nibble minimum), qs[64], f16 d, f16 dmin. Element
    // 128j + 32s + l is bits 2s..2s+1 of qs[32j + l]; its group of 16 is 8j + 2s + l/16; x = (d·sc)·q − dmin·m.
    private static void Q2_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 80), dmin = Half(b, 82);
        var three = Vector128.Create((byte)3);
        for (int j = 0; j < 2; j++)
        {
            for (int s = 0; s < 4; s++)
            {
                for (int h = 0; h < 2; h++)
                {
                    int group = 8 * j + 2 * s + h;
                    byte sc = b[group];
                    var q = Vector128.ShiftRightLogical(LoadBytes(b, 16 + 32 * j + 16 * h), 2 * s) & three;
                    ScaleSubtract(q.AsSByte(), d * (sc & 0xF), dmin * (sc >> 4), y.Slice(16 * group, 16));
                }
            }
        }
    }

    // block_q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit values, offset 32), f16 d. Element 128j + 32s + l has
    // low bits 2s..2s+1 of qs[32j + l] and, when bit 4j + s of hmask[l] is clear, −4; x = (d·(sc − 32))·q.
    private static void Q3_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 108);
        var scales = b.Slice(96, 12);
        var three = Vector128.Create((byte)3);
        var one = Vector128.Create((byte)1);
        for (int j = 0; j < 2; j++)
        {
            for (int s = 0; s < 4; s++)
            {
                int plane = 4 * j + s;
                for (int h = 0; h < 2; h++)
                {
                    int group = 8 * j + 2 * s + h;
                    int low = group < 8 ? scales[group] & 0xF : scales[group - 8] >> 4;
                    int high = (scales[8 + group % 4] >> (2 * (group / 4))) & 3;
                    float dl = d * ((low | (high << 4)) - 32);
                    var ql = Vector128.ShiftRightLogical(LoadBytes(b, 32 + 32 * j + 16 * h), 2 * s) & three;
                    var missing = (Vector128.ShiftRightLogical(LoadBytes(b, 16 * h), plane) & one) ^ one;
                    Scale(ql.AsSByte() - Vector128.ShiftLeft(missing, 2).AsSByte(), dl, y.Slice(16 * group, 16));
                }
            }
        }
    }

    // block_q4_K: f16 d, f16 dmin, scales[12] (eight 6-bit scales and minima), qs[128]. Element 64j + l is the low
    // nibble of qs[32j + l] (group 2j), 64j + 32 + l the high nibble (group 2j + 1); x = (d·sc)·q − dmin·m.
    private static void Q4_K(ReadOnlySpan<byte> b, Span<float> y) => ScaleMinNibbles(b, y, fifthBit: false);

    // block_q5_K: as Q4_K plus qh[32] before qs[128]: element 32g + l takes bit g of qh[l] as its fifth bit.
    private static void Q5_K(ReadOnlySpan<byte> b, Span<float> y) => ScaleMinNibbles(b, y, fifthBit: true);

    // Q4_K and Q5_K share the layout of scales, minima and nibbles; Q5_K only adds qh (and so moves qs by 32 bytes).
    private static void ScaleMinNibbles(ReadOnlySpan<byte> b, Span<float> y, bool fifthBit)
    {
        float d = Half(b, 0), dmin = Half(b, 2);
        var scales = b.Slice(4, 12);
        int qsStart = fifthBit ? 48 : 16;
        var one = Vector128.Create((byte)1);
        for (int j = 0; j < 4; j++)
        {
            var (sc0, m0) = ScaleMin(scales, 2 * j);
            var (sc1, m1) = ScaleMin(scales, 2 * j + 1);
            float d0 = d * sc0, dm0 = dmin * m0, d1 = d * sc1, dm1 = dmin * m1;
            for (int h = 0; h < 2; h++)
            {
                var qs = Load(b, qsStart + 32 * j + 16 * h);
                var high0 = Vector128<sbyte>.Zero;
                var high1 = Vector128<sbyte>.Zero;
                if (fifthBit)
                {
                    var qh = LoadBytes(b, 16 + 16 * h);
                    high0 = Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2 * j) & one, 4).AsSByte();
                    high1 = Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2 * j + 1) & one, 4).AsSByte();
                }
                ScaleSubtract(Low(qs) | high0, d0, dm0, y.Slice(64 * j + 16 * h, 16));
                ScaleSubtract(High(qs) | high1, d1, dm1, y.Slice(64 * j + 32 + 16 * h, 16));
            }
        }
    }

    // block_q6_K: ql[128], qh[64], int8 scales[16], f16 d. In half j, element 128j + 64s + l (l < 64) has nibble s of
    // ql[64j + l] and element 128j + 32t + l (l < 32) bits 2t..2t+1 of qh[32j + l] as bits 4..5; x = (d·sc)·(q − 32).
    private static void Q6_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 208);
        var mask = Vector128.Create((byte)0x0F);
        var three = Vector128.Create((byte)3);
        var offset = Vector128.Create((sbyte)32);
        for (int j = 0; j < 2; j++)
        {
            for (int c = 0; c < 8; c++)
            {
                int s = c / 4, t = c / 2;
                var ql = Vector128.ShiftRightLogical(LoadBytes(b, 64 * j + 16 * (c % 4)), 4 * s) & mask;
                var qh = Vector128.ShiftRightLogical(LoadBytes(b, 128 + 32 * j + 16 * (c % 2)), 2 * t) & three;
                var q = (ql | Vector128.ShiftLeft(qh, 4)).AsSByte() - offset;
                int group = 8 * j + c;
                Scale(q, d * (sbyte)b[192 + group], y.Slice(16 * group, 16));
            }
        }
    }

    // block_iq4_nl: f16 d, 16 bytes of nibbles indexing the codebook (low nibbles first); x = d·codebook[q].
    private static void IQ4_NL(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        var codebook = Vector128.Create(Iq4Codebook);
        var qs = Load(b, 2);
        Scale(Vector128.Shuffle(codebook, Low(qs)), d, y[..16]);
        Scale(Vector128.Shuffle(codebook, High(qs)), d, y[16..]);
    }

    // block_iq4_xs: f16 d, u16 scales_h, scales_l[4], qs[128]: group g has the 6-bit scale (nibble g%2 of scales_l[g/2]
    // | bits 2g..2g+1 of scales_h << 4) − 32 and 16 bytes qs[16g..] of codebook nibbles (low first); x = (d·sc)·codebook[q].
    private static void IQ4_XS(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        int scalesHigh = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        var codebook = Vector128.Create(Iq4Codebook);
        for (int g = 0; g < 8; g++)
        {
            int low = (b[4 + g / 2] >> (4 * (g % 2))) & 0xF;
            int high = (scalesHigh >> (2 * g)) & 3;
            float dl = d * ((low | (high << 4)) - 32);
            var qs = Load(b, 8 + 16 * g);
            Scale(Vector128.Shuffle(codebook, Low(qs)), dl, y.Slice(32 * g, 16));
            Scale(Vector128.Shuffle(codebook, High(qs)), dl, y.Slice(32 * g + 16, 16));
        }
    }

    // ggml get_scale_min_k4: the 6-bit scale and minimum of group j (0..7) of a Q4_K/Q5_K block.
    private static (int Scale, int Min) ScaleMin(ReadOnlySpan<byte> q, int j) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    // 16 lanes holding bit l (lane l) of bits as 0 or 16.
    private static Vector128<sbyte> FifthBits(uint bits)
    {
        Span<sbyte> lanes = stackalloc sbyte[16];
        for (int l = 0; l < 16; l++) lanes[l] = (sbyte)(((bits >> l) & 1) << 4);
        return Vector128.Create((ReadOnlySpan<sbyte>)lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(ReadOnlySpan<byte> b, int offset) =>
        (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b[offset..]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> LoadBytes(ReadOnlySpan<byte> b, int offset) => Vector128.Create(b.Slice(offset, 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Load(ReadOnlySpan<byte> b, int offset) => LoadBytes(b, offset).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Low(Vector128<sbyte> v) => v & Vector128.Create((sbyte)0x0F);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> High(Vector128<sbyte> v) => Vector128.ShiftRightLogical(v.AsByte(), 4).AsSByte();

    // y = d·q, 16 lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale(Vector128<sbyte> q, float d, Span<float> y)
    {
        var (a, b, c, e) = Widen(q);
        var scale = Vector128.Create(d);
        ref float dst = ref MemoryMarshal.GetReference(y[..16]);
        (a * scale).StoreUnsafe(ref dst);
        (b * scale).StoreUnsafe(ref dst, 4);
        (c * scale).StoreUnsafe(ref dst, 8);
        (e * scale).StoreUnsafe(ref dst, 12);
    }

    // y = d·q + m, 16 lanes (two roundings, as NumPy does).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleAdd(Vector128<sbyte> q, float d, float m, Span<float> y)
    {
        var (a, b, c, e) = Widen(q);
        var scale = Vector128.Create(d);
        var add = Vector128.Create(m);
        ref float dst = ref MemoryMarshal.GetReference(y[..16]);
        (a * scale + add).StoreUnsafe(ref dst);
        (b * scale + add).StoreUnsafe(ref dst, 4);
        (c * scale + add).StoreUnsafe(ref dst, 8);
        (e * scale + add).StoreUnsafe(ref dst, 12);
    }

    // y = d·q − m, 16 lanes: x − m and x + (−m) round identically, so this is ScaleAdd with −m.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleSubtract(Vector128<sbyte> q, float d, float m, Span<float> y) => ScaleAdd(q, d, -m, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float>, Vector128<float>, Vector128<float>, Vector128<float>) Widen(Vector128<sbyte> q)
    {
        var (lo, hi) = Vector128.Widen(q);
        var (a, b) = Vector128.Widen(lo);
        var (c, d) = Vector128.Widen(hi);
        return (Vector128.ConvertToSingle(a), Vector128.ConvertToSingle(b), Vector128.ConvertToSingle(c), Vector128.ConvertToSingle(d));
    }
}
