using System.Buffers;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>Exactly sized float memory outside the GC heap, freed (or handed back to its <see cref="NativeBufferPool"/>) on
/// Dispose: the runner's memory bound holds at every instant, not only after a garbage collection (pooled managed arrays
/// would also round sizes up to a power of two).</summary>
internal sealed unsafe class NativeBuffer : MemoryManager<float>
{
    private float* _pointer;
    private readonly int _length;
    private readonly NativeBufferPool? _pool;

    public NativeBuffer(int length) : this((float*)NativeMemory.Alloc((nuint)Math.Max(1, length), sizeof(float)), length, null) { }

    internal NativeBuffer(float* pointer, int length, NativeBufferPool? pool)
    {
        _pointer = pointer;
        _length = length;
        _pool = pool;
    }

    public override Span<float> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new Span<float>(_pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_pointer == null) return;
        if (_pool is not null) _pool.Return((nint)_pointer, _length);
        else NativeMemory.Free(_pointer);
        _pointer = null;
    }
}
