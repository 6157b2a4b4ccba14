using System.Buffers;
using System.Collections.Frozen;

namespace WeightSpace.Formats.Gguf;

/// <summary>An opened GGUF file: its metadata with types, its tensors (in Hugging Face or GGUF naming, see
/// <see cref="GgufOptions.Naming"/>), read as views of the memory-mapped file.</summary>
/// <remarks>Block-quantised tensors keep their ggml dtype (<see cref="DType.Q4_K"/>, …) and dequantise to float32
/// through <see cref="TensorBuffer.CopyTo(Span{float})"/>, a chunk of whole blocks at a time. Tensors whose rows are
/// un-permuted (q/k in the HF view) are gathered into a pooled copy; all others are zero-copy views.</remarks>
public sealed class GgufStore : TensorStore
{
    private readonly (MappedFile File, GgufHeader Header)[] _parts;
    private readonly GgufHeader _header;   // the first part's: metadata, version, alignment
    private readonly IReadOnlyList<TensorInfo> _tensors;
    private readonly IReadOnlyList<GgufTensorEntry> _stored;
    private readonly FrozenDictionary<string, (GgufTensorEntry Entry, int PermuteHeads, int Part)> _sources;
    private readonly FrozenDictionary<string, int> _partOfStored;
    private readonly IReadOnlyDictionary<string, string> _metadata;
    private int _disposed;

    internal GgufStore(string path, IReadOnlyList<(MappedFile File, GgufHeader Header)> parts, GgufNaming naming)
        : base(path)
    {
        _parts = [.. parts];
        var header = _header = parts[0].Header;
        SplitPaths = [.. parts.Select(p => p.Header.Path)];
        KeyValues = header.Metadata;
        _metadata = header.Metadata.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal);
        Architecture = Find("general.architecture")?.Value as string;
        UsesHuggingFaceNames = naming == GgufNaming.HuggingFace && GgufHfNames.IsKnown(Architecture);

        int heads = 0, headsKv = 0;
        if (UsesHuggingFaceNames)
        {
            heads = RequirePositive($"{Architecture}.attention.head_count", null);
            headsKv = RequirePositive($"{Architecture}.attention.head_count_kv", heads);
        }
        var tensors = new List<TensorInfo>();
        var stored = new List<GgufTensorEntry>();
        var sources = new Dictionary<string, (GgufTensorEntry, int, int)>(StringComparer.Ordinal);
        var partOfStored = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int part = 0; part < _parts.Length; part++)
        {
            foreach (var entry in _parts[part].Header.Tensors)
            {
                var (name, permute) = UsesHuggingFaceNames ? GgufHfNames.Map(entry.Name, heads, headsKv) : (entry.Name, 0);
                if (permute > 0) CheckPermutable(entry, permute);
                if (!sources.TryAdd(name, (entry, permute, part)))
                    throw GgufHeader.Error(_parts[part].Header.Path, entry.Name, null, $"maps to the Hugging Face name '{name}', which another tensor already has; open with GgufNaming.Gguf");
                tensors.Add(new TensorInfo(name, entry.DType, entry.Shape));
                stored.Add(entry);
                partOfStored[entry.Name] = part;
            }
        }
        _tensors = tensors;
        _stored = stored;
        _sources = sources.ToFrozenDictionary(StringComparer.Ordinal);
        _partOfStored = partOfStored.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public override CheckpointFormat Format => CheckpointFormat.Gguf;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <summary>Every metadata value rendered as one line of text (arrays abbreviated); <see cref="KeyValues"/> has the typed values.</summary>
    public override IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>The metadata in file order, with types.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> KeyValues { get; }

    /// <summary>The GGUF version (2 or 3).</summary>
    public uint Version => _header.Version;

    /// <summary>The data alignment in bytes (<c>general.alignment</c>, 32 by default).</summary>
    public int Alignment => _header.Alignment;

    /// <summary>Absolute byte offset of the data section (of the first part, for a split set).</summary>
    public long DataStart => _header.DataStart;

    /// <summary>The files of the model: one path, or every part of a split set (<c>PREFIX-00001-of-0000N.gguf</c>)
    /// in order. <see cref="GgufTensorEntry.Offset"/> counts from the data section of the part holding the tensor.</summary>
    public IReadOnlyList<string> SplitPaths { get; }

    /// <summary><c>general.architecture</c>, or null.</summary>
    public string? Architecture { get; }

    /// <summary>True when tensors carry Hugging Face names and row order (see <see cref="GgufOptions.Naming"/>).</summary>
    public bool UsesHuggingFaceNames { get; }

    /// <summary>The tensors as the file stores them, in file order (part by part for a split set).</summary>
    public IReadOnlyList<GgufTensorEntry> StoredTensors => _stored;

    /// <summary>The stored tensor behind <paramref name="name"/> (a name of <see cref="Tensors"/>).</summary>
    /// <exception cref="TensorNotFoundException">No such tensor.</exception>
    public GgufTensorEntry GetStored(string name) =>
        _sources.TryGetValue(name, out var s) ? s.Entry : throw new TensorNotFoundException(Path, name);

    /// <summary>The metadata value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Find(string key)
    {
        foreach (var (k, v) in KeyValues)
            if (k == key) return v;
        return null;
    }

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var (entry, heads, part) = _sources[info.Name];
        var (file, header) = _parts[part];
        long offset = header.DataStart + entry.Offset;
        if (heads == 0) return TensorBuffer.FromMappedFile(info, file, offset);

        long bytes = entry.ByteCount;
        if (bytes > Array.MaxLength)
            throw GgufHeader.Error(Path, entry.Name, null, $"{bytes} bytes are too many to un-permute in memory; open with GgufNaming.Gguf");
        long rows = entry.Ne.Count >= 2 ? entry.Ne[1] : entry.Ne[0];
        long rowBytes = bytes / Math.Max(1, rows);
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)bytes);
        try
        {
            using var view = TensorBuffer.FromMappedFile(info, file, offset);
            for (long r = 0; r < rows; r++)
                view.GetBytes(GgufHfNames.SourceRow(r, rows, heads) * rowBytes, (int)rowBytes).CopyTo(rented.AsSpan((int)(r * rowBytes), (int)rowBytes));
            return TensorBuffer.FromPooled(info, rented);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(rented);
            throw;
        }
    }

    /// <summary>The bytes of a stored tensor exactly as the file holds them (block data for quantised types).</summary>
    internal byte[] StoredBytes(GgufTensorEntry entry)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (entry.ByteCount > Array.MaxLength)
            throw GgufHeader.Error(Path, entry.Name, null, $"{entry.ByteCount} bytes are too many to copy in one piece");
        var (file, header) = _parts[_partOfStored[entry.Name]];
        return file.Span(checked(header.DataStart + entry.Offset), (int)entry.ByteCount).ToArray();
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (disposing)
            foreach (var (file, _) in _parts) file.Dispose();
        base.Dispose(disposing);
    }

    private int RequirePositive(string key, int? fallback)
    {
        var value = Find(key);
        if (value is null && fallback is { } f) return f;
        if (value is null || !value.TryGetInt64(out long n) || n < 1 || n > int.MaxValue)
            throw GgufHeader.Error(Path, null, key, value is null
                ? "is missing; it is needed to undo the q/k permutation (open with GgufNaming.Gguf to read the file as stored)"
                : $"value {value} is not a positive head count");
        return (int)n;
    }

    private void CheckPermutable(GgufTensorEntry entry, int heads)
    {
        // A 2-D weight permutes whole rows; a 1-D bias permutes elements, which block types cannot split.
        long rows = entry.Ne.Count >= 2 ? entry.Ne[1] : entry.Ne.Count == 1 ? entry.Ne[0] : 0;
        bool rowsOk = entry.Ne.Count is 1 or 2 && rows % (2L * heads) == 0 && !(entry.Ne.Count == 1 && entry.DType.IsBlockQuantized());
        if (!rowsOk)
            throw GgufHeader.Error(Path, entry.Name, null, $"shape [{string.Join(", ", entry.Ne)}] cannot be un-permuted over {heads} heads (rows must be a multiple of 2 × heads)");
    }
}
