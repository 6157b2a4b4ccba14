using System.Buffers;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>A <see cref="Memory{T}"/> over floats someone else owns (a mapped view): disposing it frees nothing.</summary>
internal sealed unsafe class BorrowedMemory(float* pointer, int length) : MemoryManager<float>
{
    public override Span<float> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
