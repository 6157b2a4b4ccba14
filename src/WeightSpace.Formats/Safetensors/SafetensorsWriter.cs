using System.Buffers;

namespace WeightSpace.Formats.Safetensors;

/// <summary>Writes safetensors files (one file, or shards plus an index) from a plan given up front.</summary>
/// <remarks>
/// <para>The header is written first, so tensors can be written in any order and from several threads at once: each
/// write is a positional write to a preallocated temp file, with no shared stream position.</para>
/// <para>Layout: the JSON header is padded with spaces to a multiple of 8 so the byte buffer is 8-byte aligned, and
/// tensors are ordered as the reference implementation orders them (dtype descending in its enum order — I64, F64,
/// F32, I32, BF16, F16, I16, F8_E4M3, F8_E5M2, I8, U8, BOOL — then name).</para>
/// <para>Atomicity: everything goes to temp files beside the destination; <see cref="Commit"/> flushes them and only
/// then renames them into place (shards first, the index last). An existing file at the destination is replaced
/// only by <see cref="Commit"/>; <see cref="Dispose"/> without <see cref="Commit"/> deletes every temp file.</para>
/// </remarks>
public sealed partial class SafetensorsWriter : IDisposable
{
    private const int ChunkElements = 16384;

    private readonly ShardFile[] _shards;
    private readonly Dictionary<string, Slot> _slots;
    private readonly string? _indexPath;
    private readonly long _totalSize;
    private int _state;   // 0 open, 1 committed, 2 disposed

    private SafetensorsWriter(ShardFile[] shards, Dictionary<string, Slot> slots, string? indexPath, long totalSize)
    {
        _shards = shards;
        _slots = slots;
        _indexPath = indexPath;
        _totalSize = totalSize;
    }

    /// <summary>Plans the output and writes its headers to temp files.</summary>
    /// <param name="path">Without <see cref="SafetensorsWriteOptions.ShardSizeBytes"/>: the output file. With it: the
    /// output directory (created if missing) for <c>model-0000i-of-0000N.safetensors</c> and
    /// <c>model.safetensors.index.json</c>.</param>
    /// <param name="tensors">Every tensor to write: unique non-empty names, dtypes and shapes.</param>
    /// <param name="options">Sharding and metadata; <see langword="null"/> for one file without metadata.</param>
    /// <exception cref="ArgumentException">A name is empty, repeated, <c>__metadata__</c> or not valid UTF-16.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="SafetensorsWriteOptions.ShardSizeBytes"/> is not positive.</exception>
    /// <exception cref="IOException">A temp file cannot be created.</exception>
    public static SafetensorsWriter Create(string path, IReadOnlyList<TensorInfo> tensors, SafetensorsWriteOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        options ??= new SafetensorsWriteOptions();
        CheckPlan(tensors, options);

        List<List<TensorInfo>> groups;
        string folder;
        string? indexPath = null;
        if (options.ShardSizeBytes is long shardSize)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shardSize, nameof(options.ShardSizeBytes));
            folder = Path.GetFullPath(path);
            groups = SafetensorsLayout.Shard(tensors, shardSize);
            indexPath = Path.Combine(folder, SafetensorsReader.IndexFileName);
        }
        else
        {
            string full = Path.GetFullPath(path);
            folder = Path.GetDirectoryName(full)!;
            groups = [[.. tensors]];
        }
        Directory.CreateDirectory(folder);

        var shards = new ShardFile[groups.Count];
        var slots = new Dictionary<string, Slot>(StringComparer.Ordinal);
        long totalSize = 0;
        Span<byte> prefix = stackalloc byte[8];
        try
        {
            for (int s = 0; s < groups.Count; s++)
            {
                var ordered = groups[s].Order(SafetensorsLayout.ReferenceOrder).ToList();
                byte[] header = SafetensorsLayout.BuildHeader(ordered, options.Metadata, out long[] begins);
                string final = indexPath is null ? Path.GetFullPath(path) : Path.Combine(folder, SafetensorsLayout.ShardName(s + 1, groups.Count));
                long dataStart = 8 + header.Length;
                long dataBytes = ordered.Sum(t => t.ByteCount);
                shards[s] = ShardFile.Create(final, checked(dataStart + dataBytes));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                RandomAccess.Write(shards[s].Handle, prefix, 0);
                RandomAccess.Write(shards[s].Handle, header, 8);
                for (int i = 0; i < ordered.Count; i++)
                    slots.Add(ordered[i].Name, new Slot(ordered[i], shards[s], dataStart + begins[i]));
                totalSize += dataBytes;
            }
        }
        catch
        {
            foreach (var shard in shards) shard?.Abandon();
            throw;
        }
        return new SafetensorsWriter(shards, slots, indexPath, totalSize);
    }

    /// <summary>Writes a whole tensor from its bytes in the declared dtype (little-endian, C order).</summary>
    /// <exception cref="ArgumentException">Unknown name, or not exactly the tensor's byte count.</exception>
    /// <exception cref="InvalidOperationException">Some of the tensor was already written, or the writer is committed.</exception>
    public void Write(string name, ReadOnlySpan<byte> data)
    {
        var slot = Find(name);
        if (data.Length != slot.Info.ByteCount)
            throw new ArgumentException($"Tensor '{name}' ({slot.Info}) needs {slot.Info.ByteCount} bytes; {data.Length} given.", nameof(data));
        slot.Reserve(0, data.Length);
        RandomAccess.Write(slot.Shard.Handle, data, slot.FileOffset);
        slot.Completed(data.Length);
    }

    /// <summary>Writes a whole tensor from float32 values, encoded as the declared dtype (F32, F16, BF16 or F64,
    /// rounded to nearest even).</summary>
    /// <exception cref="ArgumentException">Unknown name, a declared dtype other than F32/F16/BF16/F64, or not exactly
    /// the tensor's element count.</exception>
    /// <exception cref="InvalidOperationException">Some of the tensor was already written, or the writer is committed.</exception>
    public void Write(string name, ReadOnlySpan<float> values)
    {
        var slot = FloatSlot(name);
        if (values.Length != slot.Info.ElementCount)
            throw new ArgumentException($"Tensor '{name}' ({slot.Info}) has {slot.Info.ElementCount} elements; {values.Length} given.", nameof(values));
        slot.Reserve(0, slot.Info.ByteCount);
        WriteFloats(slot, 0, values);
    }

    /// <summary>Writes elements <c>[elementOffset, elementOffset + values.Length)</c> of a tensor from float32 values,
    /// encoded as the declared dtype. Parts may come in any order and from any thread, but no element may be written twice.</summary>
    /// <exception cref="ArgumentException">Unknown name, or a declared dtype other than F32/F16/BF16/F64.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor.</exception>
    /// <exception cref="InvalidOperationException">The range overlaps elements already written, or the writer is committed.</exception>
    public void Write(string name, long elementOffset, ReadOnlySpan<float> values)
    {
        var slot = FloatSlot(name);
        if (elementOffset < 0 || elementOffset > slot.Info.ElementCount - values.Length)
            throw new ArgumentOutOfRangeException(nameof(elementOffset), $"Elements [{elementOffset}, {elementOffset + values.Length}) are outside tensor '{name}' ({slot.Info.ElementCount} elements).");
        if (values.IsEmpty) return;
        int size = slot.Info.DType.SizeInBytes();
        slot.Reserve(elementOffset * size, (long)values.Length * size);
        WriteFloats(slot, elementOffset, values);
    }

    private Slot FloatSlot(string name)
    {
        var slot = Find(name);
        if (!FloatRecoder.IsWritable(slot.Info.DType))
            throw new ArgumentException($"Tensor '{name}' is declared {slot.Info.DType.ToSafetensorsName()}; float values can be written only to F32, F16, BF16 or F64.", nameof(name));
        return slot;
    }

    // The range is already reserved. F32 goes straight from the caller's memory; other dtypes through a small scratch.
    private static void WriteFloats(Slot slot, long elementOffset, ReadOnlySpan<float> values)
    {
        var dtype = slot.Info.DType;
        int size = dtype.SizeInBytes();
        long at = slot.FileOffset + elementOffset * size;
        if (dtype == DType.F32 && BitConverter.IsLittleEndian)
        {
            RandomAccess.Write(slot.Shard.Handle, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), at);
            slot.Completed((long)values.Length * size);
            return;
        }
        byte[] scratch = ArrayPool<byte>.Shared.Rent(ChunkElements * size);
        try
        {
            for (int start = 0; start < values.Length; start += ChunkElements)
            {
                int n = Math.Min(ChunkElements, values.Length - start);
                var bytes = scratch.AsSpan(0, n * size);
                DTypeConversion.FromSingle(values.Slice(start, n), dtype, bytes);
                RandomAccess.Write(slot.Shard.Handle, bytes, at + (long)start * size);
                slot.Completed(bytes.Length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Writes part of a tensor: <paramref name="data"/> goes to bytes
    /// <c>[byteOffset, byteOffset + data.Length)</c> of it. Parts may come in any order and from any thread, but no
    /// byte may be written twice.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor.</exception>
    /// <exception cref="InvalidOperationException">The range overlaps bytes already written, or the writer is committed.</exception>
    public void Write(string name, long byteOffset, ReadOnlySpan<byte> data)
    {
        var slot = Find(name);
        if (byteOffset < 0 || byteOffset > slot.Info.ByteCount - data.Length)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"Bytes [{byteOffset}, {byteOffset + data.Length}) are outside tensor '{name}' ({slot.Info.ByteCount} bytes).");
        if (data.IsEmpty) return;
        slot.Reserve(byteOffset, data.Length);
        RandomAccess.Write(slot.Shard.Handle, data, slot.FileOffset + byteOffset);
        slot.Completed(data.Length);
    }

    /// <summary>Checks that every tensor was fully written, flushes the temp files to disk and renames them into
    /// place (for shards, the index last).</summary>
    /// <exception cref="InvalidOperationException">A tensor is incomplete (the message names it), or already committed.</exception>
    /// <exception cref="IOException">Flushing or renaming failed; the temp files not yet renamed are deleted on dispose.</exception>
    public void Commit()
    {
        EnsureOpen();
        var missing = _slots.Values.Where(s => !s.IsComplete).Select(s => $"'{s.Info.Name}' ({s.WrittenBytes} of {s.Info.ByteCount} bytes)").ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"Cannot commit: {missing.Count} tensor(s) not fully written: {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", …" : "")}.");
        foreach (var shard in _shards) shard.Flush();

        ShardFile? index = null;
        try
        {
            if (_indexPath is not null)
            {
                byte[] json = SafetensorsLayout.BuildIndex(_totalSize, _slots.Values.Select(s => (s.Info.Name, Path.GetFileName(s.Shard.FinalPath))));
                index = ShardFile.Create(_indexPath, json.Length);
                RandomAccess.Write(index.Handle, json, 0);
                index.Flush();
            }
            foreach (var shard in _shards) shard.Publish();
            index?.Publish();
            _state = 1;
        }
        finally
        {
            index?.Abandon();
        }
    }

    /// <summary>Closes the temp files; without a successful <see cref="Commit"/> they are deleted and the destination is untouched.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2) return;
        foreach (var shard in _shards) shard.Abandon();
    }

    private Slot Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        EnsureOpen();
        return _slots.TryGetValue(name, out var slot) ? slot
            : throw new ArgumentException($"Tensor '{name}' is not in the writer's plan.", nameof(name));
    }

    private void EnsureOpen()
    {
        int state = Volatile.Read(ref _state);
        ObjectDisposedException.ThrowIf(state == 2, this);
        if (state == 1) throw new InvalidOperationException("The writer is already committed.");
    }

    private static void CheckPlan(IReadOnlyList<TensorInfo> tensors, SafetensorsWriteOptions options)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var info in tensors)
        {
            ArgumentNullException.ThrowIfNull(info, nameof(tensors));
            if (string.IsNullOrEmpty(info.Name)) throw new ArgumentException("A tensor name is empty.", nameof(tensors));
            if (info.Name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
            if (!IsWellFormed(info.Name)) throw new ArgumentException($"Tensor name '{info.Name}' is not valid UTF-16 (lone surrogate).", nameof(tensors));
            if (!names.Add(info.Name)) throw new ArgumentException($"Tensor '{info.Name}' is planned twice.", nameof(tensors));
            if (info.DType.IsBlockQuantized())
                throw new ArgumentException($"Tensor '{info.Name}' is {info.DType.ToSafetensorsName()}, a block-quantised type safetensors cannot store; dequantise it first.", nameof(tensors));
            _ = info.ByteCount;   // throws OverflowException for shapes beyond 2^63 bytes
        }
        if (options.Metadata is { } metadata)
        {
            foreach (var (key, value) in metadata)
            {
                if (key is null || value is null) throw new ArgumentException("Metadata keys and values must not be null.", nameof(options));
                if (!IsWellFormed(key) || !IsWellFormed(value)) throw new ArgumentException($"Metadata entry '{key}' is not valid UTF-16.", nameof(options));
            }
        }
    }

    private static bool IsWellFormed(string text)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }
}
