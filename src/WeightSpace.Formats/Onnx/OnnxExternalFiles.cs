namespace WeightSpace.Formats.Onnx;

/// <summary>Resolves and maps the files that hold external tensor data: each distinct file is mapped once and
/// released with the model.</summary>
/// <remarks>A model is untrusted input, and <c>location</c> is a path it chooses. Only paths that stay inside the
/// model's folder are followed: rooted paths, <c>..</c> escapes (with / or \ as separator) and symbolic links that
/// lead out are refused, as the onnx package does since its 1.16 path-traversal fix.</remarks>
internal sealed class OnnxExternalFiles(string modelPath) : IDisposable
{
    private readonly Dictionary<string, MappedFile> _files = new(StringComparer.Ordinal);
    private readonly string _folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;

    public int Count => _files.Count;

    /// <summary>Validates one tensor's external_data entries against the file they name and maps that file.</summary>
    /// <exception cref="InvalidCheckpointException">Any entry is missing, malformed, unsafe or out of range.</exception>
    public (MappedFile File, OnnxExternalData Data) Resolve(string tensorName, IReadOnlyList<KeyValuePair<string, string>> entries, long byteCount)
    {
        string? location = null, offsetText = null, lengthText = null;
        foreach (var (key, value) in entries)
        {
            switch (key)
            {
                case "location": location = value; break;
                case "offset": offsetText = value; break;
                case "length": lengthText = value; break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw Fail(tensorName, "is stored externally but its external_data has no 'location'");
        string where = $"external location '{location}'";
        long? offset = ParseSize(tensorName, where, "offset", offsetText);
        long? length = ParseSize(tensorName, where, "length", lengthText);

        string fullPath = ResolveInsideFolder(tensorName, location, where);
        if (!File.Exists(fullPath))
            throw Fail(tensorName, $"{where}: file {fullPath} does not exist");
        var file = Map(tensorName, fullPath, where);

        long start = offset ?? 0;
        if (start > file.Length)
            throw Fail(tensorName, $"{where}: offset {start} is past the end of the file ({file.Length} bytes)");
        long size = length ?? file.Length - start;
        if (size > file.Length - start)
            throw Fail(tensorName, $"{where}: offset {start} + length {size} is past the end of the file ({file.Length} bytes)");
        if (size != byteCount)
            throw Fail(tensorName, $"{where}: {size} bytes stored but dtype × shape needs {byteCount}");
        return (file, new OnnxExternalData(location, offset, length, fullPath));
    }

    private long? ParseSize(string tensorName, string where, string key, string? text)
    {
        if (text is null) return null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            throw Fail(tensorName, $"{where}: '{key}' is '{text}', not a non-negative integer");
        return value;
    }

    private string ResolveInsideFolder(string tensorName, string location, string where)
    {
        if (location.Contains('\0')) throw Fail(tensorName, $"{where} contains a NUL character");
        // Windows writers may use '\'; treat it as a separator so "..\x" cannot hide an escape on Linux.
        string normalized = location.Replace('\\', '/');
        if (Path.IsPathRooted(normalized) || normalized.StartsWith('/') || (normalized.Length >= 2 && normalized[1] == ':'))
            throw Fail(tensorName, $"{where} is an absolute path; only paths relative to the model's folder are read");
        string full = Path.GetFullPath(Path.Combine(_folder, normalized));
        string prefix = _folder.EndsWith(Path.DirectorySeparatorChar) ? _folder : _folder + Path.DirectorySeparatorChar;
        if (!full.StartsWith(prefix, StringComparison.Ordinal))
            throw Fail(tensorName, $"{where} resolves to {full}, outside the model's folder {_folder}");
        // A symbolic link inside the folder may still lead out of it; check every component below the folder.
        string relative = full[prefix.Length..];
        string current = _folder;
        foreach (string part in relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is null) continue;
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            string targetPath = target is null ? current : Path.GetFullPath(target.FullName);
            if (!targetPath.StartsWith(prefix, StringComparison.Ordinal))
                throw Fail(tensorName, $"{where} passes through the symbolic link {current}, which leads to {targetPath} outside the model's folder");
        }
        return full;
    }

    private MappedFile Map(string tensorName, string fullPath, string where)
    {
        if (_files.TryGetValue(fullPath, out var mapped)) return mapped;
        try
        {
            mapped = new MappedFile(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidCheckpointException(modelPath, tensorName, $"{where}: cannot open {fullPath}: {e.Message}", e);
        }
        _files.Add(fullPath, mapped);
        return mapped;
    }

    private InvalidCheckpointException Fail(string tensorName, string detail) => new(modelPath, tensorName, detail);

    public void Dispose()
    {
        foreach (var file in _files.Values) file.Dispose();
        _files.Clear();
    }
}
