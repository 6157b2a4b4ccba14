namespace WeightSpace.Formats.Gguf;

/// <summary>Opens GGUF files (llama.cpp's format, versions 2 and 3).</summary>
/// <remarks>The header is validated completely (see <c>docs/formats-gguf.md</c>) before a tensor can be read; tensor
/// data is never copied except to un-permute q/k rows in the Hugging Face view.</remarks>
public static class GgufReader
{
    /// <summary>Opens <paramref name="path"/>.</summary>
    /// <param name="path">A <c>.gguf</c> file.</param>
    /// <param name="options">Limits and naming; <see langword="null"/> for the safe defaults.</param>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> does not exist.</exception>
    /// <exception cref="InvalidGgufException">The file is malformed, truncated or hostile; the message names the
    /// file, tensor or key and the bad number.</exception>
    /// <remarks>A part of a split set (<c>PREFIX-00002-of-00003.gguf</c>, <c>split.count</c> &gt; 1) opens the whole
    /// set: every part must exist, agree on <c>split.count</c> and <c>split.tensors.count</c>, carry its own
    /// <c>split.no</c>, and hold tensors no other part holds; the metadata is the first part's.</remarks>
    public static GgufStore Open(string path, GgufOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new GgufOptions();
        options.Validate();
        var (file, header) = OpenPart(path, options);
        try
        {
            if (GgufSplit.SetSize(header) is not { } count) return new GgufStore(path, [(file, header)], options.Naming);
            var parts = GgufSplit.OpenSet(file, header, count, p => OpenPart(p, options));
            try { return new GgufStore(parts[0].Header.Path, parts, options.Naming); }
            catch
            {
                foreach (var (f, _) in parts)
                    if (!ReferenceEquals(f, file)) f.Dispose();
                throw;
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (MappedFile File, GgufHeader Header) OpenPart(string path, GgufOptions options)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        MappedFile file;
        try { file = new MappedFile(path); }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw GgufHeader.Error(path, null, null, $"cannot be mapped: {e.Message}", e);
        }
        try
        {
            return (file, GgufHeader.Parse(path, file.Span(0, (int)Math.Min(file.Length, Math.Min(options.MaxHeaderBytes, int.MaxValue))), file.Length, options));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
