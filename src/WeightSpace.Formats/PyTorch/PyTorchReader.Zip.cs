using WeightSpace.Formats.Pickle;

namespace WeightSpace.Formats.PyTorch;

public static partial class PyTorchReader
{
    /// <summary>The zip format: <c>&lt;top&gt;/data.pkl</c> plus one stored record <c>&lt;top&gt;/data/&lt;key&gt;</c> per storage.
    /// The top folder's name is free (torch uses the file stem; hand-made files use <c>archive</c>).</summary>
    private static PyTorchTensorStore OpenZip(MappedFile file, PyTorchOptions options)
    {
        string path = file.Path;
        var entries = ZipDirectory.Read(file);
        var byName = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        foreach (var e in entries)
            if (!byName.TryAdd(e.Name, e)) throw new InvalidCheckpointException(path, null, $"zip record '{e.Name}' appears twice");

        var pickles = entries.Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.IndexOf('/') == e.Name.Length - 9).ToList();
        if (pickles.Count == 0) throw new InvalidCheckpointException(path, null, "zip has no <folder>/data.pkl record: not a torch.save file");
        if (pickles.Count > 1) throw new InvalidCheckpointException(path, null, $"zip has {pickles.Count} <folder>/data.pkl records");
        var pkl = pickles[0];
        string prefix = pkl.Name[..^"data.pkl".Length];

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "zip",
            ["archive_name"] = prefix.TrimEnd('/'),
        };
        if (byName.TryGetValue(prefix + "version", out var version) && version.Method == 0 && version.UncompressedSize <= 64)
            metadata["zip_version"] = Encoding.ASCII.GetString(file.Span(version.DataOffset, (int)version.UncompressedSize)).Trim();
        if (byName.TryGetValue(prefix + "byteorder", out var order) && order.Method == 0 && order.UncompressedSize <= 16)
        {
            string byteOrder = Encoding.ASCII.GetString(file.Span(order.DataOffset, (int)order.UncompressedSize)).Trim();
            if (byteOrder != "little") throw new InvalidCheckpointException(path, null, $"byteorder record says '{byteOrder}'; only little-endian files are read");
        }

        RequireStored(path, pkl);
        if (pkl.UncompressedSize > Math.Min(options.MaxPickleBytes, int.MaxValue))
            throw new InvalidCheckpointException(path, null, $"'{pkl.Name}' has {pkl.UncompressedSize} bytes, more than MaxPickleBytes ({options.MaxPickleBytes})");

        var storages = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var storageOffsets = new Dictionary<string, long>(StringComparer.Ordinal);
        TorchStorage Load(object? pid, long at)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not PyTuple { Items: ["storage", var type, string key, string, long numel] })
                throw new InvalidCheckpointException(path, null, $"pickle byte {at}: persistent id is not ('storage', type, key, location, numel)");
            var dtype = StorageDType(path, type, at);
            if (storages.TryGetValue(key, out var known))
            {
                if (known.DType != dtype || known.ElementCount != numel)
                    throw new InvalidCheckpointException(path, null, $"pickle byte {at}: storage '{key}' is named as {known.DType}×{known.ElementCount} and as {dtype}×{numel}");
                return known;
            }
            if (!byName.TryGetValue(prefix + "data/" + key, out var record))
                throw new InvalidCheckpointException(path, null, $"pickle byte {at}: storage '{key}' has no record '{prefix}data/{key}'");
            RequireStored(path, record);
            if (numel < 0 || numel > record.UncompressedSize / dtype.SizeInBytes())
                throw new InvalidCheckpointException(path, null,
                    $"storage '{key}' claims {numel} elements of {dtype.ToSafetensorsName()} but its record holds {record.UncompressedSize} bytes");
            var storage = new TorchStorage(key, dtype, numel) { DataOffset = record.DataOffset };
            storages[key] = storage;
            storageOffsets[key] = record.DataOffset;
            return storage;
        }

        var unpickler = new RestrictedUnpickler(path, options.UnpicklerLimits, Load);
        object? root = unpickler.Load(file.Span(pkl.DataOffset, (int)pkl.UncompressedSize), pkl.DataOffset, cutByLimit: false);
        metadata["pickle_protocol"] = unpickler.Protocol.ToString(CultureInfo.InvariantCulture);
        return Finish(file, options, root, metadata, storageOffsets, entries);
    }

    private static void RequireStored(string path, ZipEntry entry)
    {
        if (entry.Method != 0)
            throw new InvalidCheckpointException(path, null,
                $"zip record '{entry.Name}' is compressed (method {entry.Method}); torch.save stores records uncompressed so they can be mapped, and this reader needs that");
    }
}
