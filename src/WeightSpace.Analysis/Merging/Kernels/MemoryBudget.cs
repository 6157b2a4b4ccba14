namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>A counting gate over bytes: a worker waits until its tensor's working set fits beside the others'. The capacity
/// equals the largest single working set, so the largest tensor runs alone and small tensors run side by side.</summary>
internal sealed class MemoryBudget(long capacity)
{
    private readonly object _gate = new();
    private long _used;

    public long Capacity => capacity;

    public void Acquire(long bytes, CancellationToken ct)
    {
        lock (_gate)
        {
            // A request never exceeds the capacity; when nothing is held it always proceeds.
            while (_used > 0 && _used + bytes > capacity)
            {
                ct.ThrowIfCancellationRequested();
                Monitor.Wait(_gate, 100);
            }
            _used += bytes;
        }
    }

    public void Release(long bytes)
    {
        lock (_gate)
        {
            _used -= bytes;
            Monitor.PulseAll(_gate);
        }
    }
}
