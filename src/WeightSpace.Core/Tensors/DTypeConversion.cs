using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace WeightSpace;

/// <summary>Converts little-endian stored elements of any <see cref="DType"/> to <see cref="float"/> or <see cref="double"/>.</summary>
/// <remarks>Exact for every dtype into double; into float, F64, I64 and large I32 values round to nearest. Block-quantised
/// types are dequantised block by block with ggml's arithmetic (DTypeConversion.Blocks.cs).</remarks>
public static partial class DTypeConversion
{
    private static readonly float[] F8E4M3Table = BuildFloat8Table(exponentBits: 4, mantissaBits: 3, bias: 7, ieeeSpecials: false);
    private static readonly float[] F8E5M2Table = BuildFloat8Table(exponentBits: 5, mantissaBits: 2, bias: 15, ieeeSpecials: true);

    /// <summary>Converts <paramref name="source"/> (whole elements, or whole blocks, of <paramref name="dtype"/>) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The source is not a whole number of elements or blocks, or the destination is too short.</exception>
    public static void ToSingle(ReadOnlySpan<byte> source, DType dtype, Span<float> destination)
    {
        int n = CheckLengths(source.Length, dtype, destination.Length);
        var dst = destination[..n];
        if (dtype.IsBlockQuantized())
        {
            Dequantize(source, dtype, dst);
            return;
        }
        switch (dtype)
        {
            case DType.F32: MemoryMarshal.Cast<byte, float>(source).CopyTo(dst); break;
            case DType.F64: TensorPrimitives.ConvertTruncating<double, float>(MemoryMarshal.Cast<byte, double>(source), dst); break;
            case DType.F16: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), dst); break;
            case DType.BF16:
            {
                // BF16 is the top half of a float32: widen and shift, a vector at a time (BF16 checkpoints are the common
                // case for large models, and a scalar loop made their conversion the slowest step of a scan or merge).
                var bits = MemoryMarshal.Cast<byte, ushort>(source);
                var outBits = MemoryMarshal.Cast<float, uint>(dst);
                int i = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    for (; i <= n - Vector<ushort>.Count; i += Vector<ushort>.Count)
                    {
                        Vector.Widen(new Vector<ushort>(bits[i..]), out var low, out var high);
                        (low << 16).CopyTo(outBits[i..]);
                        (high << 16).CopyTo(outBits[(i + Vector<uint>.Count)..]);
                    }
                }
                for (; i < n; i++) outBits[i] = (uint)bits[i] << 16;
                break;
            }
            case DType.F8_E4M3: Lookup(source, F8E4M3Table, dst); break;
            case DType.F8_E5M2: Lookup(source, F8E5M2Table, dst); break;
            case DType.I64: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, long>(source), dst); break;
            case DType.I32: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, int>(source), dst); break;
            case DType.I16: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, short>(source), dst); break;
            case DType.I8: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, sbyte>(source), dst); break;
            case DType.U8: TensorPrimitives.ConvertTruncating(source, dst); break;
            case DType.Bool: for (int i = 0; i < n; i++) dst[i] = source[i] != 0 ? 1f : 0f; break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype.");
        }
    }

    /// <summary>Converts <paramref name="source"/> (whole elements, or whole blocks, of <paramref name="dtype"/>) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The source is not a whole number of elements or blocks, or the destination is too short.</exception>
    public static void ToDouble(ReadOnlySpan<byte> source, DType dtype, Span<double> destination)
    {
        int n = CheckLengths(source.Length, dtype, destination.Length);
        var dst = destination[..n];
        switch (dtype)
        {
            case DType.F64: MemoryMarshal.Cast<byte, double>(source).CopyTo(dst); break;
            case DType.F32: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, float>(source), dst); break;
            case DType.I64: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, long>(source), dst); break;
            case DType.I32: TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, int>(source), dst); break;
            default:
            {
                // Every other dtype is exact in float32 (block types dequantise to float32), so go through a small
                // float buffer of whole blocks (256 elements: one K-quant block, eight of the 32-element ones).
                Span<float> tmp = stackalloc float[256];
                int perBlock = dtype.BytesPerBlock(), blockElements = dtype.BlockElementCount();
                for (int start = 0; start < n; start += tmp.Length)
                {
                    int count = Math.Min(tmp.Length, n - start);
                    ToSingle(source.Slice(start / blockElements * perBlock, count / blockElements * perBlock), dtype, tmp[..count]);
                    TensorPrimitives.ConvertTruncating<float, double>(tmp[..count], dst.Slice(start, count));
                }
                break;
            }
        }
    }

    /// <summary>Encodes float32 values as <paramref name="dtype"/> (F32, F16, BF16 or F64), rounding to nearest even.</summary>
    /// <exception cref="NotSupportedException"><paramref name="dtype"/> is not a writable float type.</exception>
    public static void FromSingle(ReadOnlySpan<float> source, DType dtype, Span<byte> destination)
    {
        int size = dtype.SizeInBytes();
        if (destination.Length < (long)source.Length * size)
            throw new ArgumentException("Destination is too short.", nameof(destination));
        switch (dtype)
        {
            case DType.F32: MemoryMarshal.AsBytes(source).CopyTo(destination); break;
            case DType.F64: TensorPrimitives.ConvertTruncating<float, double>(source, MemoryMarshal.Cast<byte, double>(destination)[..source.Length]); break;
            case DType.F16: TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination)[..source.Length]); break;
            case DType.BF16:
            {
                var dst = MemoryMarshal.Cast<byte, ushort>(destination);
                var bits = MemoryMarshal.Cast<float, uint>(source);
                int i = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    // FloatBitsToBFloat16 a vector at a time: round to nearest even, NaN kept quiet, then narrow.
                    int width = Vector<uint>.Count;
                    var magnitude = new Vector<uint>(0x7FFF_FFFF);
                    var infinity = new Vector<uint>(0x7F80_0000);
                    var half = new Vector<uint>(0x7FFF);
                    var quiet = new Vector<uint>(0x0040);
                    for (; i <= bits.Length - 2 * width; i += 2 * width)
                    {
                        var a = Round(new Vector<uint>(bits[i..]));
                        var b = Round(new Vector<uint>(bits[(i + width)..]));
                        Vector.Narrow(a, b).CopyTo(dst[i..]);
                    }

                    Vector<uint> Round(Vector<uint> x)
                    {
                        var nan = Vector.GreaterThan(x & magnitude, infinity);
                        var rounded = (x + half + ((x >> 16) & Vector<uint>.One)) >> 16;
                        return Vector.ConditionalSelect(nan, (x >> 16) | quiet, rounded);
                    }
                }
                for (; i < bits.Length; i++) dst[i] = FloatBitsToBFloat16(bits[i]);
                break;
            }
            default: throw new NotSupportedException($"Writing {dtype} from float32 is not supported; use F32, F16, BF16 or F64.");
        }
    }

    /// <summary>Round-to-nearest-even bfloat16 of a float32 bit pattern; NaN stays a quiet NaN.</summary>
    internal static ushort FloatBitsToBFloat16(uint bits)
    {
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((bits >> 16) | 0x0040);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private static int CheckLengths(int sourceBytes, DType dtype, int destinationLength)
    {
        int size = dtype.BytesPerBlock();
        if (sourceBytes % size != 0)
            throw new ArgumentException(dtype.IsBlockQuantized()
                ? $"{sourceBytes} bytes is not a whole number of {dtype} blocks of {size} bytes."
                : $"{sourceBytes} bytes is not a whole number of {dtype} elements.", "source");
        long elements = (long)(sourceBytes / size) * dtype.BlockElementCount();
        if (elements > int.MaxValue)
            throw new ArgumentException($"{sourceBytes} bytes of {dtype} decode to {elements} elements, more than one span holds.", "source");
        int n = (int)elements;
        if (destinationLength < n)
            throw new ArgumentException($"Destination holds {destinationLength} elements; {n} needed.", "destination");
        return n;
    }

    private static void Lookup(ReadOnlySpan<byte> source, float[] table, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = table[source[i]];
    }

    private static float[] BuildFloat8Table(int exponentBits, int mantissaBits, int bias, bool ieeeSpecials)
    {
        var table = new float[256];
        int expMask = (1 << exponentBits) - 1, manMask = (1 << mantissaBits) - 1;
        for (int b = 0; b < 256; b++)
        {
            int sign = b >> 7, exp = (b >> mantissaBits) & expMask, man = b & manMask;
            double value;
            if (ieeeSpecials && exp == expMask)
                value = man == 0 ? double.PositiveInfinity : double.NaN;
            else if (!ieeeSpecials && exp == expMask && man == manMask)
                value = double.NaN;                                    // e4m3fn: only S.1111.111 is NaN
            else if (exp == 0)
                value = man * Math.Pow(2, 1 - bias - mantissaBits);    // subnormal
            else
                value = (1 + man / (double)(1 << mantissaBits)) * Math.Pow(2, exp - bias);
            table[b] = (float)(sign == 1 ? -value : value);
        }
        return table;
    }
}
