namespace WeightSpace.Analysis.Merging.Output;

/// <summary>Collects a merge's outputs into an <see cref="InMemoryTensorStore"/>, for evaluating a merge without
/// writing it to disk. Memory is the whole merged model, so use it for small models.</summary>
public sealed class InMemoryTensorSink : ITensorSink
{
    private readonly InMemoryTensorStore _store;
    private readonly Dictionary<string, TensorInfo> _outputs;

    /// <summary>Creates a sink that adds each output of <paramref name="outputs"/> to <paramref name="store"/>.</summary>
    public InMemoryTensorSink(InMemoryTensorStore store, IReadOnlyList<TensorInfo> outputs)
    {
        _store = store;
        _outputs = outputs.ToDictionary(o => o.Name, StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public void Write(string name, ReadOnlySpan<float> values)
    {
        var info = Output(name);
        var bytes = new byte[info.ByteCount];
        DTypeConversion.FromSingle(values, info.DType, bytes);
        lock (_store) _store.Add(info, bytes);
    }

    /// <inheritdoc/>
    public void WriteBytes(string name, ReadOnlySpan<byte> bytes)
    {
        var info = Output(name);
        lock (_store) _store.Add(info, bytes);
    }

    private TensorInfo Output(string name) =>
        _outputs.TryGetValue(name, out var info) ? info : throw new ArgumentException($"'{name}' is not an output of the merge plan.", nameof(name));
}
