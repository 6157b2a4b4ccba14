using System.Security.Cryptography;

namespace WeightSpace.Analysis.Sharding;

/// <summary>Identifies a model for combining parts: parts computed from different files, or from a file that changed
/// between the tasks, must not be combined.</summary>
public static class ModelFingerprint
{
    /// <summary>SHA-256 (hex, first 16 bytes) over the absolute path, the size and modification time of every file
    /// behind <paramref name="path"/>, and the tensor listing (name, dtype, shape) of <paramref name="store"/>.</summary>
    public static string Of(string path, TensorStore store)
    {
        var text = new StringBuilder();
        string full = Path.GetFullPath(path);
        text.Append(full).Append('\n');
        IEnumerable<string> files = Directory.Exists(full)
            ? Directory.EnumerateFiles(full, "*", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal)
            : [full];
        foreach (var file in files)
        {
            var info = new FileInfo(file);
            text.Append(CultureInfo.InvariantCulture, $"{info.Name}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}\n");
        }
        foreach (var t in store.Tensors)
            text.Append(CultureInfo.InvariantCulture, $"{t.Name}\t{t.DType}\t{string.Join(",", t.Shape)}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 16));
    }
}
