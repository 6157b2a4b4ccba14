using System.Runtime.InteropServices;

namespace WeightSpace;

/// <summary>A <see cref="TensorStore"/> over tensors already in memory: for tests, for results of analyses, and for
/// callers who build weights in code.</summary>
public sealed class InMemoryTensorStore : TensorStore
{
    private readonly List<TensorInfo> _tensors = [];
    private readonly Dictionary<string, byte[]> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Creates an empty store; <paramref name="name"/> stands in for a path in messages.</summary>
    public InMemoryTensorStore(string name = "<memory>") : base(name) { }

    /// <inheritdoc/>
    public override CheckpointFormat Format => CheckpointFormat.Safetensors;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Sets a metadata entry.</summary>
    public InMemoryTensorStore WithMetadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    /// <summary>Adds a float32 tensor (values copied, C order).</summary>
    /// <exception cref="ArgumentException">The name exists or the value count does not match the shape.</exception>
    public InMemoryTensorStore Add(string name, ReadOnlySpan<float> values, params long[] shape) =>
        Add(new TensorInfo(name, DType.F32, new Shape(shape)), MemoryMarshal.AsBytes(values));

    /// <summary>Adds a tensor of any dtype from its little-endian bytes (copied).</summary>
    /// <exception cref="ArgumentException">The name exists or the byte count does not match dtype × shape.</exception>
    public InMemoryTensorStore Add(TensorInfo info, ReadOnlySpan<byte> bytes)
    {
        if (_data.ContainsKey(info.Name)) throw new ArgumentException($"Tensor '{info.Name}' already exists.", nameof(info));
        if (bytes.Length != info.ByteCount)
            throw new ArgumentException($"Tensor '{info.Name}' needs {info.ByteCount} bytes for {info.DType}{info.Shape}; {bytes.Length} given.", nameof(bytes));
        _tensors.Add(info);
        _data[info.Name] = bytes.ToArray();
        return this;
    }

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info) => TensorBuffer.FromBytes(info, _data[info.Name]);
}
