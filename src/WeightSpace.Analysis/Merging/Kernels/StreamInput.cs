using System.Collections.Concurrent;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>One read-only input of <see cref="StreamingTaskArithmetic"/>: a pointer to a whole tensor in its stored
/// dtype (a mapped view, usually). F32 is read in place; any other floating dtype (BF16, F16, F64, F8…) is converted a
/// chunk at a time into scratch, so a BF16 checkpoint needs neither a float32 copy nor twice its size in memory.</summary>
/// <param name="Pointer">First element; 0 for an absent input (θ₀ = 0).</param>
/// <param name="DType">How the elements are stored (little-endian).</param>
internal readonly record struct StreamInput(nint Pointer, DType DType)
{
    /// <summary>A float32 input.</summary>
    public static StreamInput Single(nint pointer) => new(pointer, DType.F32);

    /// <summary>True when the kernel reads this input in place.</summary>
    public bool IsSingle => DType == DType.F32;

    /// <summary>Element <paramref name="index"/> as float32 (random access, for sampling).</summary>
    public unsafe float Read(int index)
    {
        if (IsSingle) return ((float*)Pointer)[index];
        int size = DType.SizeInBytes();
        Span<float> one = stackalloc float[1];
        DTypeConversion.ToSingle(new ReadOnlySpan<byte>((byte*)Pointer + (long)index * size, size), DType, one);
        return one[0];
    }
}

/// <summary>Chunk buffers for converting non-F32 inputs, reused across chunks and threads of one merge and freed with it.</summary>
internal sealed unsafe class ChunkScratch(int chunkLength, int inputs) : IDisposable
{
    private readonly ConcurrentBag<nint> _free = [];
    private readonly ConcurrentBag<nint> _all = [];

    /// <summary>Float pointers valid for elements [start, end) — indexed by the element's position in the whole tensor —
    /// for θ₀ (null when absent) and every model: F32 inputs as they are, others converted into a scratch block, which
    /// the caller gives back with <see cref="Return"/> (0 when nothing needed converting).</summary>
    /// <param name="baseInput">θ₀ (Pointer 0 when absent).</param>
    /// <param name="models">The models.</param>
    /// <param name="start">First element of the chunk.</param>
    /// <param name="end">One past its last element (at most the scratch's chunk length after <paramref name="start"/>).</param>
    /// <param name="needed">Which models to resolve (null: all); the others come back as 0.</param>
    public (nint Block, nint Base, nint[] Models) View(StreamInput baseInput, StreamInput[] models, int start, int end, bool[]? needed)
    {
        nint block = 0;
        nint Resolve(StreamInput input, int slot)
        {
            if (input.Pointer == 0) return 0;
            if (input.IsSingle) return input.Pointer;
            if (block == 0) block = Rent();
            float* target = (float*)block + (long)slot * chunkLength;
            int size = input.DType.SizeInBytes();
            DTypeConversion.ToSingle(new ReadOnlySpan<byte>((byte*)input.Pointer + (long)start * size, (end - start) * size), input.DType,
                new Span<float>(target, end - start));
            return (nint)(target - start);   // rebased: [start] is the block's first element
        }
        var resolvedBase = Resolve(baseInput, 0);
        var resolved = new nint[models.Length];
        for (int i = 0; i < models.Length; i++) resolved[i] = needed is null || needed[i] ? Resolve(models[i], i + 1) : 0;
        return (block, resolvedBase, resolved);
    }

    /// <summary>Gives a block from <see cref="View"/> back for the next chunk.</summary>
    public void Return(nint block)
    {
        if (block != 0) _free.Add(block);
    }

    private nint Rent()
    {
        if (_free.TryTake(out var block)) return block;
        block = (nint)NativeMemory.Alloc((nuint)chunkLength * (nuint)inputs, sizeof(float));
        _all.Add(block);
        return block;
    }

    public void Dispose()
    {
        foreach (var block in _all) NativeMemory.Free((void*)block);
        _all.Clear();
        _free.Clear();
    }
}
