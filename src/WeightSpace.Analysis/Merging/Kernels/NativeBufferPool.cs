namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>Keeps freed merge buffers for the next tensor of the same element count, within a byte capacity.</summary>
/// <remarks>
/// A fresh 128 MiB allocation is a fresh mmap whose 32 768 pages fault in on first touch (~0.1 s each buffer, five per
/// TIES tensor); models are mostly runs of equal-sized tensors, so reuse removes that cost. Only exact sizes are reused,
/// so a buffer never holds more than it is accounted for; idle buffers are freed before a new allocation would push
/// idle + in-use bytes above the capacity (the runner's memory bound), so the bound holds for pooled memory too.
/// </remarks>
internal sealed unsafe class NativeBufferPool(long capacityBytes) : IDisposable
{
    private readonly Dictionary<int, Stack<nint>> _idle = [];
    private readonly Lock _gate = new();
    private long _idleBytes, _inUseBytes;
    private bool _disposed;

    public NativeBuffer Rent(int length)
    {
        long bytes = Bytes(length);
        lock (_gate)
        {
            if (_idle.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                _idleBytes -= bytes;
                _inUseBytes += bytes;
                return new NativeBuffer((float*)stack.Pop(), length, this);
            }
            foreach (var (size, blocks) in _idle)
            {
                while (_idleBytes + _inUseBytes + bytes > capacityBytes && blocks.Count > 0)
                {
                    NativeMemory.Free((void*)blocks.Pop());
                    _idleBytes -= Bytes(size);
                }
            }
            _inUseBytes += bytes;
        }
        return new NativeBuffer((float*)NativeMemory.Alloc((nuint)Math.Max(1, length), sizeof(float)), length, this);
    }

    internal void Return(nint pointer, int length)
    {
        lock (_gate)
        {
            _inUseBytes -= Bytes(length);
            if (_disposed) { NativeMemory.Free((void*)pointer); return; }
            if (!_idle.TryGetValue(length, out var stack)) _idle[length] = stack = new Stack<nint>();
            stack.Push(pointer);
            _idleBytes += Bytes(length);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var blocks in _idle.Values)
                while (blocks.Count > 0) NativeMemory.Free((void*)blocks.Pop());
            _idle.Clear();
            _idleBytes = 0;
            _disposed = true;
        }
    }

    private static long Bytes(int length) => Math.Max(1, length) * (long)sizeof(float);
}
