using WeightSpace.Formats.Pickle;

namespace WeightSpace.Formats.PyTorch;

/// <summary>Reads PyTorch <c>torch.save</c> files (<c>.pt</c>, <c>.pth</c>, <c>.bin</c>): the zip format (PyTorch ≥ 1.6)
/// and the legacy pickle stream, without executing anything.</summary>
/// <remarks>
/// The pickle is run by a restricted unpickler that knows only the globals <c>torch.save</c> writes for tensors and
/// state dicts (<c>torch._utils._rebuild_tensor_v2</c>, <c>_rebuild_parameter</c>, <c>collections.OrderedDict</c>,
/// the <c>torch.*Storage</c> classes); any other global is refused when it is named, before anything could use it.
/// Tensors are named by their path from the root object, joined with <c>/</c> (<c>fc1.weight</c>,
/// <c>model/fc1.weight</c>, <c>optimizer/state/0/exp_avg</c>). Contiguous tensors are views of the memory-mapped file;
/// strided views are gathered when read. See docs/formats-pytorch.md.
/// </remarks>
public static partial class PyTorchReader
{
    /// <summary>Opens a <c>torch.save</c> file and lists every tensor in its object tree.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; <see langword="null"/> for the safe defaults.</param>
    /// <returns>A store to dispose when done; its buffers must not outlive it.</returns>
    /// <exception cref="UnsafePickleException">The pickle names a global outside the allow-list (nothing was run).</exception>
    /// <exception cref="InvalidCheckpointException">The file is truncated, malformed, or a tensor does not fit its storage.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static TensorStore Open(string path, PyTorchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new PyTorchOptions();
        var file = new MappedFile(path);
        try
        {
            return file.Length >= 4 && file.Span(0, 4).SequenceEqual("PK\u0003\u0004"u8)
                ? OpenZip(file, options)
                : OpenLegacy(file, options);
        }
        catch (OverflowException ex)
        {
            file.Dispose();
            throw new InvalidCheckpointException(path, null, "a size or offset overflows 64 bits", ex);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>True if <paramref name="head"/> (the first bytes of a file) starts like a <c>torch.save</c> file: a zip
    /// local header, or a PROTO opcode followed by the legacy format's magic-number integer.</summary>
    internal static bool LooksLikePyTorch(ReadOnlySpan<byte> head, long fileLength)
    {
        if (fileLength < 4 || head.Length < 4) return false;
        if (head[..4].SequenceEqual("PK\u0003\u0004"u8)) return true;
        if (head[0] != 0x80 || head[1] is < 2 or > 5) return false;
        // LONG1 of 10 bytes (the magic 0x1950a86a20f9469cfc6c) right after PROTO, or after a protocol-4 FRAME.
        if (head[2] == 0x8a && head[3] == 0x0a) return true;
        return head.Length >= 13 && head[2] == 0x95 && head[11] == 0x8a && head[12] == 0x0a;
    }

    /// <summary>Names the tensors of <paramref name="root"/>, checks each view against its storage, and builds the store.</summary>
    private static PyTorchTensorStore Finish(MappedFile file, PyTorchOptions options, object? root,
        Dictionary<string, string> metadata, IReadOnlyDictionary<string, long> storageOffsets, IReadOnlyList<ZipEntry>? zipEntries)
    {
        string path = file.Path;
        var named = new List<KeyValuePair<string, TorchTensor>>();
        ObjectTree.Walk(path, root, options, named, metadata);

        var entries = new List<PyTorchTensorEntry>(named.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long totalElements = 0, totalBytes = 0;
        foreach (var (name, tensor) in named)
        {
            if (!seen.Add(name))
                throw new InvalidCheckpointException(path, name, "two different paths of the object tree give this name");
            var entry = Validate(path, name, tensor);
            // Checked sums keep TensorStore.ParameterCount/ByteCount from overflowing later.
            totalElements = checked(totalElements + entry.Info.ElementCount);
            totalBytes = checked(totalBytes + entry.Info.ByteCount);
            entries.Add(entry);
        }
        metadata["tensor_count"] = entries.Count.ToString(CultureInfo.InvariantCulture);
        return new PyTorchTensorStore(file, options, entries, metadata, storageOffsets, zipEntries);
    }

    private static PyTorchTensorEntry Validate(string path, string name, TorchTensor t)
    {
        var storage = t.Storage;
        var dtype = storage.DType;
        int size = dtype.SizeInBytes();
        int rank = t.Shape.Length;
        if (t.Strides.Length != rank)
            throw new InvalidCheckpointException(path, name, $"size has {rank} dimensions but stride has {t.Strides.Length}");
        if (t.StorageOffset < 0) throw new InvalidCheckpointException(path, name, $"storage offset {t.StorageOffset} is negative");
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            if (t.Shape[i] < 0) throw new InvalidCheckpointException(path, name, $"dimension {i} is {t.Shape[i]}");
            if (t.Strides[i] < 0) throw new InvalidCheckpointException(path, name, $"stride {i} is {t.Strides[i]}; negative strides are not supported");
            count = Mul(path, name, count, t.Shape[i]);
        }
        _ = Mul(path, name, count, size); // TensorInfo.ByteCount must fit 64 bits
        if (storage.DataOffset < 0)
            throw new InvalidCheckpointException(path, name, $"storage '{storage.Key}' has no data in the file");
        if (count > 0)
        {
            // Highest element the view reaches: offset + Σ (size_i − 1)·stride_i, which must lie inside the storage.
            long last = t.StorageOffset;
            for (int i = 0; i < rank; i++) last = Add(path, name, last, Mul(path, name, t.Shape[i] - 1, t.Strides[i]));
            if (last >= storage.ElementCount)
                throw new InvalidCheckpointException(path, name,
                    $"view {dtype.ToSafetensorsName()}[{string.Join(", ", t.Shape)}] stride [{string.Join(", ", t.Strides)}] at offset {t.StorageOffset} reaches element {last}, but storage '{storage.Key}' holds {storage.ElementCount}");
        }
        bool contiguous = true;
        long expected = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            if (t.Shape[i] != 1 && t.Strides[i] != expected) { contiguous = false; break; }
            expected *= t.Shape[i];
        }
        var info = new TensorInfo(name, dtype, new Shape(t.Shape));
        return new PyTorchTensorEntry(info, RootKey(storage), storage.DataOffset, t.StorageOffset, t.Strides, contiguous || count <= 1);
    }

    private static string RootKey(TorchStorage s) => s.ViewOf is { } root ? root.Key : s.Key;

    private static long Mul(string path, string name, long a, long b)
    {
        try { return checked(a * b); }
        catch (OverflowException ex) { throw new InvalidCheckpointException(path, name, $"{a} × {b} overflows 64 bits", ex); }
    }

    private static long Add(string path, string name, long a, long b)
    {
        try { return checked(a + b); }
        catch (OverflowException ex) { throw new InvalidCheckpointException(path, name, $"{a} + {b} overflows 64 bits", ex); }
    }

    private static DType StorageDType(string path, object? type, long at) =>
        type is PyGlobal g && PickleAllowList.StorageTypes.TryGetValue(g.FullName, out var dtype)
            ? dtype
            : throw new InvalidCheckpointException(path, null, $"pickle byte {at}: persistent id names {(type is PyGlobal h ? h.FullName : "no class")}, not a storage class");
}
