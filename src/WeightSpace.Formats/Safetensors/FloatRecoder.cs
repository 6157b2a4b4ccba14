using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace WeightSpace.Formats.Safetensors;

/// <summary>Re-encodes floating-point elements from one dtype to another, correctly rounded (to nearest, ties to even).</summary>
internal static class FloatRecoder
{
    private const int ChunkElements = 4096;

    /// <summary>True for the dtypes <see cref="Recode"/> can produce.</summary>
    public static bool IsWritable(DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16 or DType.F64;

    /// <summary>Converts whole elements of <paramref name="from"/> in <paramref name="source"/> into
    /// <paramref name="to"/> in <paramref name="destination"/>, which must hold as many elements.</summary>
    public static void Recode(ReadOnlySpan<byte> source, DType from, Span<byte> destination, DType to)
    {
        if (!from.IsFloatingPoint() || !IsWritable(to))
            throw new ArgumentException($"Cannot recode {from} to {to}: only floating-point tensors to F32, F16, BF16 or F64.");
        if (from == to)
        {
            source.CopyTo(destination);
            return;
        }
        int count = source.Length / from.SizeInBytes();
        if (from == DType.F64)
        {
            var values = MemoryMarshal.Cast<byte, double>(source);
            switch (to)
            {
                case DType.F32:
                    TensorPrimitives.ConvertTruncating<double, float>(values, MemoryMarshal.Cast<byte, float>(destination)[..count]);
                    return;
                default:
                    RecodeFromDouble(values, destination, to);
                    return;
            }
        }
        // Every non-F64 float dtype is exact in float32, so one rounding (in FromSingle) gives the correct result.
        float[] scratch = ArrayPool<float>.Shared.Rent(ChunkElements);
        try
        {
            int inSize = from.SizeInBytes(), outSize = to.SizeInBytes();
            for (int start = 0; start < count; start += ChunkElements)
            {
                int n = Math.Min(ChunkElements, count - start);
                var floats = scratch.AsSpan(0, n);
                DTypeConversion.ToSingle(source.Slice(start * inSize, n * inSize), from, floats);
                var target = destination.Slice(start * outSize, n * outSize);
                if (to == DType.F64) TensorPrimitives.ConvertTruncating<float, double>(floats, MemoryMarshal.Cast<byte, double>(target));
                else DTypeConversion.FromSingle(floats, to, target);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    // F64 → F16/BF16 through float would round twice. Rounding to odd first keeps the result correct: rounding to
    // odd at p + 2 or more bits and then to nearest at p bits equals one rounding to nearest at p bits
    // (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd",
    // IEEE Trans. Computers 57(4), 2008, Theorem 1). float32 keeps 24 bits; F16 needs 11, BF16 8.
    private static void RecodeFromDouble(ReadOnlySpan<double> source, Span<byte> destination, DType to)
    {
        float[] scratch = ArrayPool<float>.Shared.Rent(ChunkElements);
        try
        {
            int outSize = to.SizeInBytes();
            for (int start = 0; start < source.Length; start += ChunkElements)
            {
                int n = Math.Min(ChunkElements, source.Length - start);
                var floats = scratch.AsSpan(0, n);
                var chunk = source.Slice(start, n);
                for (int i = 0; i < n; i++) floats[i] = RoundToOddSingle(chunk[i]);
                DTypeConversion.FromSingle(floats, to, destination.Slice(start * outSize, n * outSize));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>The float32 neighbour of <paramref name="value"/> with an odd significand when it is not exact.</summary>
    internal static float RoundToOddSingle(double value)
    {
        float nearest = (float)value;
        if (double.IsNaN(value) || (double)nearest == value) return nearest;
        uint bits = BitConverter.SingleToUInt32Bits(nearest);
        if ((bits & 1) != 0) return nearest;
        // Step one ulp towards the exact value; the two neighbours of an inexact value differ in the last bit.
        bits = Math.Abs((double)nearest) > Math.Abs(value) ? bits - 1 : bits + 1;
        return BitConverter.UInt32BitsToSingle(bits);
    }
}
