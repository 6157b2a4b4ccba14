namespace WeightSpace.Formats.Safetensors;

/// <summary>A safetensors file or a set of shards, each memory-mapped once; reads are zero-copy views.</summary>
internal sealed class SafetensorsStore : TensorStore
{
    private readonly MappedFile[] _files;
    private readonly Dictionary<string, (int File, long Offset)> _locations;
    private readonly IReadOnlyList<TensorInfo> _tensors;
    private readonly IReadOnlyDictionary<string, string> _metadata;
    private int _disposed;

    /// <summary>Maps every validated shard; <paramref name="headers"/> are in store order.</summary>
    public SafetensorsStore(string path, IReadOnlyList<SafetensorsHeader> headers, IReadOnlyDictionary<string, string> metadata)
        : base(path)
    {
        _metadata = metadata;
        _files = new MappedFile[headers.Count];
        int opened = 0;
        try
        {
            for (; opened < headers.Count; opened++)
            {
                var header = headers[opened];
                _files[opened] = new MappedFile(header.Path);
                // Validation read the file through a handle that is closed now; a file replaced in between must not
                // be sliced with the old ranges.
                if (_files[opened].Length != header.FileLength)
                    throw SafetensorsHeader.Error(header.Path, null, $"file changed while opening: {header.FileLength} bytes when validated, {_files[opened].Length} when mapped");
            }
        }
        catch (Exception e)
        {
            for (int i = 0; i < headers.Count; i++) _files[i]?.Dispose();
            if (e is IOException io and not FileNotFoundException)
                throw SafetensorsHeader.Error(headers[opened].Path, null, $"cannot be mapped: {io.Message}", io);
            throw;
        }

        var tensors = new List<TensorInfo>();
        _locations = new Dictionary<string, (int, long)>(StringComparer.Ordinal);
        for (int i = 0; i < headers.Count; i++)
        {
            foreach (var entry in headers[i].Entries)
            {
                tensors.Add(entry.Info);
                _locations.Add(entry.Info.Name, (i, headers[i].DataStart + entry.Begin));
            }
        }
        _tensors = tensors;
    }

    public override CheckpointFormat Format => CheckpointFormat.Safetensors;

    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    public override IReadOnlyDictionary<string, string> Metadata => _metadata;

    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var (file, offset) = _locations[info.Name];
        return TensorBuffer.FromMappedFile(info, _files[file], offset);
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (disposing)
            foreach (var file in _files) file?.Dispose();
        base.Dispose(disposing);
    }
}
