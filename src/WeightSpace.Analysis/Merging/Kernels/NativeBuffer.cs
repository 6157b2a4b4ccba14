using System.Buffers;
using System.Runtime.InteropServices;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>Exactly sized float memory outside the GC heap, freed on Dispose: the runner's memory bound holds at every
/// instant, not only after a garbage collection (pooled arrays would also round sizes up to a power of two).</summary>
internal sealed unsafe class NativeBuffer : MemoryManager<float>
{
    private float* _pointer;
    private readonly int _length;

    public NativeBuffer(int length)
    {
        _length = length;
        _pointer = (float*)NativeMemory.Alloc((nuint)Math.Max(1, length), sizeof(float));
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
        NativeMemory.Free(_pointer);
        _pointer = null;
    }
}
