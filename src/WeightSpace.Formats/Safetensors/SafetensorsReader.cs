namespace WeightSpace.Formats.Safetensors;

/// <summary>Opens safetensors checkpoints: one file, or shards listed by a <c>model.safetensors.index.json</c>.</summary>
/// <remarks>
/// Every header is validated completely (see <c>docs/formats-safetensors.md</c>) before any file is mapped. Tensor
/// data is never copied: <see cref="TensorStore.Read"/> returns a view of the memory-mapped shard, valid until the
/// buffer or the store is disposed.
/// </remarks>
public static class SafetensorsReader
{
    /// <summary>The index name the Hugging Face tools write next to shards.</summary>
    internal const string IndexFileName = "model.safetensors.index.json";

    /// <summary>Opens a safetensors checkpoint.</summary>
    /// <param name="path">A <c>.safetensors</c> file; an index <c>.json</c>; or a directory holding
    /// <c>model.safetensors.index.json</c>, exactly one other <c>*.safetensors.index.json</c>, or exactly one
    /// <c>*.safetensors</c> file.</param>
    /// <param name="options">Limits for untrusted input; <see langword="null"/> for the safe defaults.</param>
    /// <returns>A store whose <see cref="TensorStore.Tensors"/> are in byte-buffer order (shards in ordinal order of
    /// their file names, e.g. <c>model-00001-of-00003</c> first), and whose <see cref="TensorStore.Metadata"/> is
    /// <c>__metadata__</c> (for shards: the first shard's, then the index's <c>metadata</c> entries not already
    /// present, stringified, e.g. <c>total_size</c>). Dispose it to unmap the files.</returns>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> does not exist.</exception>
    /// <exception cref="InvalidCheckpointException">A file is malformed, truncated or inconsistent with its index;
    /// the message names the file, the tensor and the bad numbers.</exception>
    public static TensorStore Open(string path, SafetensorsOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new SafetensorsOptions();
        options.Validate();

        if (Directory.Exists(path)) return OpenDirectory(path, options);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or directory", path);
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return OpenIndex(path, path, options);
        var header = SafetensorsHeader.Read(path, options);
        return new SafetensorsStore(path, [header], header.Metadata);
    }

    /// <summary>A cheap content sniff: could a file starting with <paramref name="head"/> (its first 16 bytes or
    /// fewer) and <paramref name="fileLength"/> bytes long be safetensors?</summary>
    /// <remarks>True when the u64 length prefix N satisfies 2 ≤ N ≤ fileLength − 8 and the header's first
    /// non-whitespace byte within <paramref name="head"/> is '{'.</remarks>
    internal static bool LooksLikeSafetensors(ReadOnlySpan<byte> head, long fileLength)
    {
        if (head.Length < 9 || fileLength < 10) return false;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (n < 2 || n > (ulong)(fileLength - 8)) return false;
        var json = head[8..(int)Math.Min((ulong)head.Length, 8 + n)];
        foreach (byte b in json)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            return b == (byte)'{';
        }
        return false;
    }

    private static TensorStore OpenDirectory(string directory, SafetensorsOptions options)
    {
        string index = Path.Combine(directory, IndexFileName);
        if (File.Exists(index)) return OpenIndex(directory, index, options);
        var indexes = Directory.GetFiles(directory, "*.safetensors.index.json");
        if (indexes.Length == 1) return OpenIndex(directory, indexes[0], options);
        if (indexes.Length > 1)
            throw SafetensorsHeader.Error(directory, null, $"holds {indexes.Length} index files ({string.Join(", ", indexes.Select(Path.GetFileName).Order(StringComparer.Ordinal))}); open one of them");
        var files = Directory.GetFiles(directory, "*.safetensors");
        if (files.Length == 1)
        {
            var header = SafetensorsHeader.Read(files[0], options);
            return new SafetensorsStore(directory, [header], header.Metadata);
        }
        throw SafetensorsHeader.Error(directory, null, files.Length == 0
            ? "holds no .safetensors file and no index"
            : $"holds {files.Length} .safetensors files but no {IndexFileName} saying how they fit together");
    }

    private static TensorStore OpenIndex(string storePath, string indexPath, SafetensorsOptions options)
    {
        var index = SafetensorsIndex.Read(indexPath, options);
        var headers = new List<SafetensorsHeader>(index.Shards.Count);
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string shard in index.Shards)
        {
            string shardPath = index.ShardPath(shard);
            if (!File.Exists(shardPath))
                throw SafetensorsHeader.Error(indexPath, index.WeightMap.First(kv => kv.Value == shard).Key, $"shard '{shard}' named by the index does not exist");
            var header = SafetensorsHeader.Read(shardPath, options);
            foreach (var entry in header.Entries)
            {
                string name = entry.Info.Name;
                if (!owner.TryAdd(name, shard))
                    throw SafetensorsHeader.Error(shardPath, name, $"is also in shard '{owner[name]}'; a tensor must live in one shard");
                if (!index.WeightMap.TryGetValue(name, out string? listed))
                    throw SafetensorsHeader.Error(shardPath, name, $"is not listed in the index's weight_map");
                if (listed != shard)
                    throw SafetensorsHeader.Error(shardPath, name, $"the index puts it in shard '{listed}', not in '{shard}'");
            }
            headers.Add(header);
        }
        foreach (var (name, shard) in index.WeightMap)
            if (!owner.ContainsKey(name))
                throw SafetensorsHeader.Error(indexPath, name, $"the index lists it in shard '{shard}', which does not hold it");

        var metadata = new Dictionary<string, string>(headers.Count > 0 ? headers[0].Metadata : [], StringComparer.Ordinal);
        foreach (var (key, value) in index.Metadata) metadata.TryAdd(key, value);
        return new SafetensorsStore(storePath, headers, metadata);
    }
}
