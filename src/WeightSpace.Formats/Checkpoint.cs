using WeightSpace.Formats.Hub;

namespace WeightSpace.Formats;

/// <summary>Opens a checkpoint of any supported format, choosing the format by the file's content.</summary>
public static class Checkpoint
{
    private const int SniffBytes = 64;

    /// <summary>The built-in formats, in the order they are tried.</summary>
    public static IReadOnlyList<ICheckpointFormat> Formats { get; } = BuiltInFormats.All;

    /// <summary>Opens <paramref name="path"/> (a file, a directory of shards, a Hugging Face model folder, or a hub id
    /// <c>ORG/NAME[@REVISION]</c> from the local cache) lazily: only headers are read.</summary>
    /// <param name="path">A checkpoint file, a directory holding one, or a hub id in the local Hugging Face cache.</param>
    /// <param name="options">Limits; <see cref="CheckpointOptions.Default"/> if null.</param>
    /// <param name="formats">Formats to try; <see cref="Formats"/> if null.</param>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="ModelNotCachedException">A hub id that the local cache does not hold.</exception>
    /// <exception cref="UnsupportedFormatException">The content matches no format.</exception>
    /// <exception cref="InvalidCheckpointException">The file is malformed or hostile.</exception>
    public static TensorStore Open(string path, CheckpointOptions? options = null, IReadOnlyList<ICheckpointFormat>? formats = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= CheckpointOptions.Default;
        formats ??= Formats;
        string local = ResolveLocal(path, options.HubCache);
        var format = Identify(local, formats);
        return format.Open(WeightsFileOf(local, format), options);
    }

    /// <summary>The local path a reference names: the path itself when it exists, else the snapshot folder of a hub id
    /// in the local Hugging Face cache.</summary>
    /// <exception cref="FileNotFoundException">Not a path, and not of the form of a hub id.</exception>
    /// <exception cref="ModelNotCachedException">A hub id that the cache does not hold.</exception>
    /// <exception cref="UnsupportedFormatException">A <c>MODEL+ADAPTER</c> reference, which only the verbs that apply
    /// adapters take.</exception>
    public static string ResolveLocal(string path, HuggingFaceCache? cache = null)
    {
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var reference = ModelReference.Resolve(path, cache);
        if (reference.HasAdapter)
            throw new UnsupportedFormatException(path, "a MODEL+ADAPTER reference names a LoRA adapter to apply; open the model and the adapter separately, or use a verb that applies adapters (merge, lora apply)");
        return reference.Path;
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
            if (SingleWeightsFile(path) is { } file) return Identify(file, formats);
            throw new UnsupportedFormatException(path, "directory holds no checkpoint WeightSpace can read (expected model.safetensors.index.json, *.safetensors, pytorch_model.bin or model.pt)");
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

    private static readonly string[] LegacyWeightsFiles = ["pytorch_model.bin", "model.pt", "model.pth"];

    /// <summary>Hugging Face folders saved in the legacy format hold one <c>pytorch_model.bin</c> (or a <c>model.pt</c>);
    /// a folder that no format opens as a whole is read through that file.</summary>
    private static string? SingleWeightsFile(string directory) =>
        LegacyWeightsFiles.Select(name => Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    private static string WeightsFileOf(string path, ICheckpointFormat format) =>
        Directory.Exists(path) && !format.CanOpenDirectory(path) && SingleWeightsFile(path) is { } file ? file : path;
}
