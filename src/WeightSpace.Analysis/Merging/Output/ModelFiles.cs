using WeightSpace.Formats.Gguf;

namespace WeightSpace.Analysis.Merging.Output;

/// <summary>Where an opened model's Hugging Face files (<c>config.json</c>, tokenizer files, chat template) are: the model's
/// folder, the folder of a file given directly, or for a GGUF file the files synthesised from its metadata
/// (<see cref="GgufSidecarFolder"/>), so that an output written from a GGUF input is a loadable Hugging Face model.
/// Disposing deletes a synthesised folder.</summary>
public sealed class ModelFiles : IDisposable
{
    private readonly GgufSidecarFolder? _sidecar;

    private ModelFiles(string folder, GgufSidecarFolder? sidecar)
    {
        Folder = folder;
        _sidecar = sidecar;
    }

    /// <summary>The folder to read the files from.</summary>
    public string Folder { get; }

    /// <summary>True when <see cref="Folder"/> holds files synthesised from GGUF metadata.</summary>
    public bool Synthesized => _sidecar is not null;

    /// <summary>Why a GGUF's tokenizer.json could not be synthesised (a tokenizer model WeightSpace does not map), or null.</summary>
    public string? TokenizerSkipped => _sidecar?.TokenizerSkipped;

    /// <summary>The files of <paramref name="store"/>, opened from <paramref name="path"/>.</summary>
    /// <exception cref="InvalidGgufException">A GGUF's metadata lacks a key config.json needs (the message names it).</exception>
    public static ModelFiles Of(TensorStore store, string path)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var sidecar = GgufSidecarFolder.TryCreate(store);
        // A hub id's files are in its snapshot folder, where the store was opened from.
        return new ModelFiles(sidecar?.Path ?? FolderOf(File.Exists(path) || Directory.Exists(path) ? path : Checkpoint.ResolveLocal(path)), sidecar);
    }

    /// <summary>The folder of <paramref name="path"/>: itself if a folder, else the file's folder.</summary>
    public static string FolderOf(string path) => Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";

    /// <inheritdoc/>
    public void Dispose() => _sidecar?.Dispose();
}
