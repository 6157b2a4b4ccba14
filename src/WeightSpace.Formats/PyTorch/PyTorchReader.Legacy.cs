using System.Numerics;
using WeightSpace.Formats.Pickle;

namespace WeightSpace.Formats.PyTorch;

public static partial class PyTorchReader
{
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("1950a86a20f9469cfc6c", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The legacy format (torch.save with <c>_use_new_zipfile_serialization=False</c>, PyTorch &lt; 1.6): pickles of
    /// the magic number, the protocol version, sys_info, the object, and the storage keys; then, for each key in that
    /// order, an 8-byte little-endian element count and the storage's bytes.</summary>
    private static PyTorchTensorStore OpenLegacy(MappedFile file, PyTorchOptions options)
    {
        string path = file.Path;
        long pos = 0;

        object? magic = LoadPickle(file, options, ref pos, null, out _);
        if (magic is not (long or BigInteger) || (magic is BigInteger b ? b : (long)magic) != LegacyMagic)
            throw new InvalidCheckpointException(path, null, "not a torch.save file: neither a zip nor a pickle stream starting with the legacy magic number");
        object? protocolVersion = LoadPickle(file, options, ref pos, null, out _);
        if (protocolVersion is not long version)
            throw new InvalidCheckpointException(path, null, "legacy protocol version is not an integer");
        object? sysInfo = LoadPickle(file, options, ref pos, null, out _);
        if (sysInfo is PyDict info && info.Get("little_endian") is false)
            throw new InvalidCheckpointException(path, null, "the file was written on a big-endian machine; only little-endian files are read");

        var roots = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var views = new List<TorchStorage>();
        TorchStorage Load(object? pid, long at)
        {
            // ('storage', storage_type, root_key, location, numel, view_metadata)
            if (pid is not PyTuple { Items: ["storage", var type, string key, string, long numel, var viewMetadata] })
                throw new InvalidCheckpointException(path, null, $"pickle byte {at}: persistent id is not ('storage', type, key, location, numel, view_metadata)");
            var dtype = StorageDType(path, type, at);
            if (numel < 0) throw new InvalidCheckpointException(path, null, $"pickle byte {at}: storage '{key}' has {numel} elements");
            if (!roots.TryGetValue(key, out var root))
                roots[key] = root = new TorchStorage(key, dtype, numel);
            else if (root.DType != dtype || root.ElementCount != numel)
                throw new InvalidCheckpointException(path, null, $"pickle byte {at}: storage '{key}' is named as {root.DType}×{root.ElementCount} and as {dtype}×{numel}");
            switch (viewMetadata)
            {
                case PyNone:
                    return root;
                case PyTuple { Items: [string viewKey, long offset, long viewSize] }:
                    if (offset < 0 || viewSize < 0 || offset > root.ElementCount - viewSize)
                        throw new InvalidCheckpointException(path, null, $"pickle byte {at}: storage view '{viewKey}' ({offset}+{viewSize}) is outside storage '{key}' ({root.ElementCount} elements)");
                    var view = new TorchStorage(viewKey, dtype, viewSize) { ViewOf = root, ViewElementOffset = offset };
                    views.Add(view);
                    return view;
                default:
                    throw new InvalidCheckpointException(path, null, $"pickle byte {at}: storage view metadata is not (key, offset, size)");
            }
        }

        long mainOffset = pos;
        object? root = LoadPickle(file, options, ref pos, Load, out int protocol);
        object? keys = LoadPickle(file, options, ref pos, null, out _);
        if (keys is not PyList keyList) throw new InvalidCheckpointException(path, null, $"byte {pos}: storage key list is not a list");

        var storageOffsets = new Dictionary<string, long>(StringComparer.Ordinal);
        long storagesStart = pos;
        foreach (object? k in keyList.Items)
        {
            if (k is not string key || !roots.TryGetValue(key, out var storage))
                throw new InvalidCheckpointException(path, null, $"storage key list names '{k}', which the object never references");
            if (storage.DataOffset >= 0) throw new InvalidCheckpointException(path, null, $"storage key list names '{key}' twice");
            if (pos > file.Length - 8)
                throw new InvalidCheckpointException(path, null, $"byte {pos}: storage '{key}' element count runs past the end of the file ({file.Length} bytes)");
            long numel = BinaryPrimitives.ReadInt64LittleEndian(file.Span(pos, 8));
            if (numel != storage.ElementCount)
                throw new InvalidCheckpointException(path, null, $"byte {pos}: storage '{key}' has {numel} elements in the file but {storage.ElementCount} in the pickle");
            if (numel < 0)
                throw new InvalidCheckpointException(path, null, $"byte {pos}: storage '{key}' has {numel} elements");
            long bytes = storage.DType.ByteCount(numel);
            if (bytes > file.Length - pos - 8)
                throw new InvalidCheckpointException(path, null,
                    $"byte {pos}: storage '{key}' ({numel} × {storage.DType.ToSafetensorsName()}) runs past the end of the file ({file.Length} bytes)");
            storage.DataOffset = pos + 8;
            storageOffsets[key] = storage.DataOffset;
            pos += 8 + bytes;
        }
        foreach (var view in views)
            if (view.ViewOf!.DataOffset >= 0)
                view.DataOffset = view.ViewOf.DataOffset + view.ViewElementOffset * view.DType.SizeInBytes();

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "legacy",
            ["legacy_protocol_version"] = version.ToString(CultureInfo.InvariantCulture),
            ["pickle_protocol"] = protocol.ToString(CultureInfo.InvariantCulture),
            ["main_pickle_offset"] = mainOffset.ToString(CultureInfo.InvariantCulture),
            ["storages_offset"] = storagesStart.ToString(CultureInfo.InvariantCulture),
        };
        return Finish(file, options, root, metadata, storageOffsets, null);
    }

    /// <summary>Runs the pickle that starts at <paramref name="pos"/> and moves <paramref name="pos"/> past its STOP.</summary>
    private static object? LoadPickle(MappedFile file, PyTorchOptions options, ref long pos, RestrictedUnpickler.PersistentLoader? load, out int protocol)
    {
        long available = file.Length - pos;
        long limit = Math.Min(options.MaxPickleBytes, int.MaxValue);
        bool cut = available > limit;
        var unpickler = new RestrictedUnpickler(file.Path, options.UnpicklerLimits, load);
        object? value = unpickler.Load(file.Span(pos, (int)Math.Min(available, limit)), pos, cut);
        pos += unpickler.BytesConsumed;
        protocol = unpickler.Protocol;
        return value;
    }
}
