using System.Buffers;
using System.Collections.Frozen;

namespace WeightSpace.Formats.PyTorch;

/// <summary>A validated tensor of a PyTorch file: a strided view of a storage whose bytes lie inside the file.</summary>
internal sealed record PyTorchTensorEntry(TensorInfo Info, string StorageKey, long StorageDataOffset, long StorageOffset, long[] Strides, bool IsContiguous);

/// <summary>The tensors of one <c>torch.save</c> file, read lazily from a memory map.</summary>
internal sealed unsafe class PyTorchTensorStore : TensorStore
{
    private readonly MappedFile _file;
    private readonly PyTorchOptions _options;
    private readonly TensorInfo[] _tensors;
    private readonly FrozenDictionary<string, PyTorchTensorEntry> _entries;
    private readonly FrozenDictionary<string, string> _metadata;

    public PyTorchTensorStore(MappedFile file, PyTorchOptions options, IReadOnlyList<PyTorchTensorEntry> entries,
        IReadOnlyDictionary<string, string> metadata, IReadOnlyDictionary<string, long> storageDataOffsets, IReadOnlyList<ZipEntry>? zipEntries)
        : base(file.Path)
    {
        _file = file;
        _options = options;
        _tensors = entries.Select(e => e.Info).ToArray();
        _entries = entries.ToFrozenDictionary(e => e.Info.Name, StringComparer.Ordinal);
        _metadata = metadata.ToFrozenDictionary(StringComparer.Ordinal);
        StorageDataOffsets = storageDataOffsets;
        ZipEntries = zipEntries;
    }

    public override CheckpointFormat Format => CheckpointFormat.PyTorch;

    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    public override IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>File offset of each storage's first byte, by storage key.</summary>
    internal IReadOnlyDictionary<string, long> StorageDataOffsets { get; }

    /// <summary>The zip records (null for a legacy file).</summary>
    internal IReadOnlyList<ZipEntry>? ZipEntries { get; }

    /// <summary>How tensor <paramref name="name"/> sits in its storage.</summary>
    internal PyTorchTensorEntry Entry(string name) => _entries[name];

    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        var e = _entries[info.Name];
        if (info.ElementCount == 0) return TensorBuffer.FromBytes(info, ReadOnlyMemory<byte>.Empty);
        int size = info.DType.SizeInBytes();
        if (e.IsContiguous) return TensorBuffer.FromMappedFile(info, _file, e.StorageDataOffset + e.StorageOffset * size);

        long bytes = info.ByteCount;
        if (bytes > _options.MaxGatherBytes || bytes > Array.MaxLength)
            throw new InvalidCheckpointException(Path, info.Name,
                $"non-contiguous view of {bytes} bytes exceeds MaxGatherBytes ({Math.Min(_options.MaxGatherBytes, Array.MaxLength)}) and cannot be gathered");
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)bytes);
        try
        {
            StridedGather.Copy(_file.PointerAt(e.StorageDataOffset), size, e.StorageOffset, info.Shape.ToArray(), e.Strides, rented.AsSpan(0, (int)bytes));
            return TensorBuffer.FromPooled(info, rented);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(rented);
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _file.Dispose();
    }
}
