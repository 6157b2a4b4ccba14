namespace WeightSpace.Formats;

/// <summary>Opens a checkpoint of any supported format, choosing the format by the file's content.</summary>
public static class Checkpoint
{
    private const int SniffBytes = 64;

    /// <summary>The built-in formats, in the order they are tried.</summary>
    public static IReadOnlyList<ICheckpointFormat> Formats { get; } = BuiltInFormats.All;

    /// <summary>Opens <paramref name="path"/> (a file, or a directory of shards) lazily: only headers are read.</summary>
    /// <param name="path">A checkpoint file or a directory holding one.</param>
    /// <param name="options">Limits; <see cref="CheckpointOptions.Default"/> if null.</param>
    /// <param name="formats">Formats to try; <see cref="Formats"/> if null.</param>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="UnsupportedFormatException">The content matches no format.</exception>
    /// <exception cref="InvalidCheckpointException">The file is malformed or hostile.</exception>
    public static TensorStore Open(string path, CheckpointOptions? options = null, IReadOnlyList<ICheckpointFormat>? formats = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= CheckpointOptions.Default;
        formats ??= Formats;
        return Identify(path, formats).Open(path, options);
    }

    /// <summary>Tells which format <paramref name="path"/> is in without opening it.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="UnsupportedFormatException">The content matches no format.</exception>
    public static ICheckpointFormat Identify(string path, IReadOnlyList<ICheckpointFormat>? formats = null)
    {
        formats ??= Formats;
        if (Directory.Exists(path))
        {
            foreach (var f in formats)
                if (f.CanOpenDirectory(path)) return f;
            throw new UnsupportedFormatException(path, "directory holds no checkpoint WeightSpace can read (expected model.safetensors.index.json or *.safetensors)");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or directory", path);

        Span<byte> head = stackalloc byte[SniffBytes];
        long length;
        int read;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            length = stream.Length;
            read = stream.ReadAtLeast(head, SniffBytes, throwOnEndOfStream: false);
        }
        foreach (var f in formats)
            if (f.LooksLike(head[..read], length)) return f;
        string ext = Path.GetExtension(path);
        throw new UnsupportedFormatException(path, length == 0
            ? "file is empty"
            : $"content is not safetensors, a PyTorch torch.save file, GGUF or ONNX (extension '{ext}' was not trusted: formats are chosen by content)");
    }
}
