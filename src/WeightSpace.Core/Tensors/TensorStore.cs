using System.Collections.Frozen;

namespace WeightSpace;

/// <summary>A read-only, lazily read checkpoint: lists its tensors without reading data, and reads one at a time.</summary>
/// <remarks>
/// Memory held is the header plus whatever <see cref="TensorBuffer"/>s the caller has not disposed, so a model never
/// has to fit in memory. Reading different tensors from several threads at once is safe. Open one with
/// <c>WeightSpace.Formats.Checkpoint.Open</c>.
/// </remarks>
public abstract class TensorStore : IDisposable
{
    private FrozenDictionary<string, TensorInfo>? _byName;

    /// <summary>Creates a store for <paramref name="path"/>.</summary>
    protected TensorStore(string path) => Path = path;

    /// <summary>The path the store was opened from (file, directory or index).</summary>
    public string Path { get; }

    /// <summary>The on-disk format.</summary>
    public abstract CheckpointFormat Format { get; }

    /// <summary>Every tensor, in the order the checkpoint lists them.</summary>
    public abstract IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>String metadata the file carries (safetensors <c>__metadata__</c>, ONNX producer, …); empty if none.</summary>
    public virtual IReadOnlyDictionary<string, string> Metadata => FrozenDictionary<string, string>.Empty;

    /// <summary>Total number of elements over all tensors.</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

    /// <summary>Total bytes of tensor data (contiguous layout, stored dtypes).</summary>
    public long ByteCount => Tensors.Sum(t => t.ByteCount);

    /// <summary>True if a tensor named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => ByName.ContainsKey(name);

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGetInfo(string name, out TensorInfo info) => ByName.TryGetValue(name, out info!);

    /// <summary>The description of tensor <paramref name="name"/>.</summary>
    /// <exception cref="TensorNotFoundException">No such tensor.</exception>
    public TensorInfo GetInfo(string name) =>
        ByName.TryGetValue(name, out var info) ? info : throw new TensorNotFoundException(Path, name);

    /// <summary>Reads one tensor's bytes (a view of the mapped file where the format allows).</summary>
    /// <exception cref="TensorNotFoundException">No such tensor.</exception>
    /// <exception cref="InvalidCheckpointException">The tensor's data is malformed.</exception>
    public TensorBuffer Read(string name) => ReadCore(GetInfo(name));

    /// <summary>Reads one tensor converted to float32.</summary>
    public float[] ReadSingle(string name)
    {
        using var buffer = Read(name);
        return buffer.ToSingleArray();
    }

    /// <summary>Reads one tensor converted to float64.</summary>
    public double[] ReadDouble(string name)
    {
        using var buffer = Read(name);
        return buffer.ToDoubleArray();
    }

    /// <summary>Reads the data of <paramref name="info"/>, one of <see cref="Tensors"/>.</summary>
    protected abstract TensorBuffer ReadCore(TensorInfo info);

    // Built on first lookup; stores that grow after construction (InMemoryTensorStore) rebuild when the count changes.
    private FrozenDictionary<string, TensorInfo> ByName
    {
        get
        {
            var map = _byName;
            if (map is null || map.Count != Tensors.Count)
                _byName = map = Tensors.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
            return map;
        }
    }

    /// <summary>Releases mapped files and handles.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; <paramref name="disposing"/> is false from a finalizer.</summary>
    protected virtual void Dispose(bool disposing) { }

    /// <summary>Formats as <c>path (format, N tensors)</c>.</summary>
    public override string ToString() => $"{Path} ({Format}, {Tensors.Count} tensors)";
}
