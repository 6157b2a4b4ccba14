using System.Security.Cryptography;

namespace WeightSpace.Analysis.Spectra;

/// <summary>A folder of per-tensor results (<see cref="LayerSpectrumRecord"/>, one JSON file each) that lets an
/// interrupted <see cref="SpectrumAnalyzer.Analyze"/> resume: a tensor whose record exists is not read again.</summary>
/// <remarks>
/// The key hashes the checkpoint's file identity (full path, size and last-write time of every file of the
/// checkpoint), the tensor's name, dtype and shape, and every option that changes a result, so a changed file or
/// option never reuses a stale result. Records are written to a temp file, flushed to disk and renamed, so an
/// interrupted run (Ctrl+C, a killed job) leaves only complete records; an unreadable record is ignored and
/// recomputed. Only analysed layers (status <c>ok</c>) are stored: skips cost nothing to redo and failures may be
/// transient.
/// </remarks>
public sealed class SpectrumCache
{
    /// <summary>Layout version of the records; a different version is never read.</summary>
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    private readonly string _fileIdentity;
    private readonly string _options;
    private readonly string _checkpoint;

    /// <summary>Opens (creating it if needed) the cache folder for one checkpoint and one set of options.</summary>
    /// <exception cref="WeightSpaceException">The folder cannot be created.</exception>
    public SpectrumCache(string directory, TensorStore store, SpectrumOptions options)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        Directory = Path.GetFullPath(directory);
        try { System.IO.Directory.CreateDirectory(Directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightSpaceException($"--cache {directory}: the folder cannot be created: {e.Message}", e);
        }
        _checkpoint = store.Path;
        _fileIdentity = FileIdentity(store.Path);
        _options = CanonicalOptions(options);
    }

    /// <summary>The cache folder (full path).</summary>
    public string Directory { get; }

    /// <summary>The record key of a tensor: SHA-256 (hex) of file identity, name, dtype, shape and options.</summary>
    public string Key(TensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        string text = string.Join('\n', "weightspace-spectrum", FormatVersion, _fileIdentity, info.Name, info.DType.ToShortName(),
            string.Join(',', info.Shape.ToArray()), _options);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The stored entries of a tensor, or null when there is no valid record for this key.</summary>
    public IReadOnlyList<LayerSpectrum>? TryRead(TensorInfo info)
    {
        string key = Key(info);
        string path = PathOf(key);
        if (!File.Exists(path)) return null;
        try
        {
            var record = JsonSerializer.Deserialize<LayerSpectrumRecord>(File.ReadAllBytes(path), Json);
            return record is not null && record.FormatVersion == FormatVersion && record.Key == key && record.Tensor == info.Name
                && record.Layers is { Count: > 0 } ? record.Layers : null;
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException or InvalidOperationException)
        {
            return null;   // a damaged record is recomputed, never trusted
        }
    }

    /// <summary>Stores a tensor's entries atomically (temp file, fsync, rename). Entries that are not all <c>ok</c>
    /// are not stored.</summary>
    public void Write(TensorInfo info, int tensorIndex, IReadOnlyList<LayerSpectrum> layers)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0 || layers.Any(l => l.Status != LayerStatus.Ok)) return;
        string key = Key(info);
        var record = new LayerSpectrumRecord(FormatVersion, key, _checkpoint, _fileIdentity, info.Name, tensorIndex,
            info.DType.ToShortName(), info.Shape.ToArray(), _options, layers);
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(record, Json);
        AtomicFile.WriteAllBytes(PathOf(key), bytes);
    }

    /// <summary>Every readable record in the folder (for a combine step over shards).</summary>
    public IEnumerable<LayerSpectrumRecord> Records()
    {
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*.json").Order(StringComparer.Ordinal))
        {
            LayerSpectrumRecord? record = null;
            try { record = JsonSerializer.Deserialize<LayerSpectrumRecord>(File.ReadAllBytes(path), Json); }
            catch (Exception e) when (e is JsonException or IOException or NotSupportedException or InvalidOperationException) { }
            if (record is not null && record.FormatVersion == FormatVersion) yield return record;
        }
    }

    private string PathOf(string key) => Path.Combine(Directory, key + ".json");

    /// <summary>Full path, size and last-write time (UTC ticks) of the checkpoint file, or of every file directly in
    /// the checkpoint folder, in ordinal order.</summary>
    internal static string FileIdentity(string path)
    {
        string full = Path.GetFullPath(path);
        IEnumerable<string> files = File.Exists(full) ? [full]
            : System.IO.Directory.Exists(full) ? System.IO.Directory.EnumerateFiles(full).Order(StringComparer.Ordinal) : [full];
        return string.Join(';', files.Select(f =>
        {
            var info = new FileInfo(f);
            return info.Exists ? $"{f}|{info.Length}|{info.LastWriteTimeUtc.Ticks}" : $"{f}|missing";
        }));
    }

    /// <summary>The options as JSON, without those that do not change a tensor's result (threads, parallelism, the
    /// name filter, the cache folder).</summary>
    internal static string CanonicalOptions(SpectrumOptions options) =>
        JsonSerializer.Serialize(options with { MaxDegreeOfParallelism = 1, TorchThreads = null, CacheDirectory = null, Filter = null }, Json);
}
