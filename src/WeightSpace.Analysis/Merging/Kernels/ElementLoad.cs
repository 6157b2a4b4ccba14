using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>How the streaming kernel's loops read one input as float32, a vector or an element at a time. A type
/// parameter rather than a branch, so each dtype gets its own compiled loop with nothing but the load in it.</summary>
internal interface IElementLoad
{
    /// <summary>Elements [j, j + Vector&lt;float&gt;.Count) of the tensor at <paramref name="pointer"/>.</summary>
    static abstract Vector<float> Load(nint pointer, int j);

    /// <summary>Element <paramref name="j"/>.</summary>
    static abstract float LoadOne(nint pointer, int j);
}

/// <summary>Float32 stored as float32: a plain load.</summary>
internal readonly struct SingleLoad : IElementLoad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector<float> Load(nint pointer, int j) => Vector.Load((float*)pointer + j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float LoadOne(nint pointer, int j) => ((float*)pointer)[j];
}

/// <summary>BF16 read straight from its stored bits: a bfloat16 is the top half of a float32, so widening is a zero
/// extension of each ushort and a shift into the high half (exact for every value, NaN payloads, infinities and
/// subnormals included — the same bits <see cref="DTypeConversion.ToSingle"/> gives).</summary>
internal readonly struct BFloat16Load : IElementLoad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector<float> Load(nint pointer, int j)
    {
        var p = (ushort*)pointer + j;
        // One zero-extending load per vector (vpmovzxwd on x64), whatever width Vector<float> has.
        if (Vector<float>.Count == 8)
            return (Vector256.WidenLower(Vector128.Load(p).ToVector256Unsafe()) << 16).AsSingle().AsVector();
        if (Vector<float>.Count == 16)
            return (Vector512.WidenLower(Vector256.Load(p).ToVector512Unsafe()) << 16).AsSingle().AsVector();
        if (Vector<float>.Count == 4)
            return (Vector128.WidenLower(Vector128.CreateScalarUnsafe(*(ulong*)p).AsUInt16()) << 16).AsSingle().AsVector();
        Span<uint> bits = stackalloc uint[Vector<float>.Count];
        for (int i = 0; i < bits.Length; i++) bits[i] = (uint)p[i] << 16;
        return Vector.AsVectorSingle(new Vector<uint>(bits));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float LoadOne(nint pointer, int j) => BitConverter.UInt32BitsToSingle((uint)((ushort*)pointer)[j] << 16);
}
