using WeightSpace.IO;

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
    public static GgufStore Open(string path, GgufOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new GgufOptions();
        options.Validate();
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        MappedFile file;
        try { file = new MappedFile(path); }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw GgufHeader.Error(path, null, null, $"cannot be mapped: {e.Message}", e);
        }
        try
        {
            var header = GgufHeader.Parse(path, file.Span(0, (int)Math.Min(file.Length, Math.Min(options.MaxHeaderBytes, int.MaxValue))), file.Length, options);
            return new GgufStore(path, file, header, options.Naming);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
