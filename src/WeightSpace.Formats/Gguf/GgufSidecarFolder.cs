namespace WeightSpace.Formats.Gguf;

/// <summary>The Hugging Face files of a GGUF model — <c>config.json</c> and <c>tokenizer.json</c> synthesised from its
/// <c>llama.*</c> and <c>tokenizer.ggml.*</c> metadata exactly as <c>convert model.gguf DIR/</c> writes them — in a private
/// temporary folder. Code that takes a model's config and tokenizer from its folder (merge's config.json rewrite and
/// tokenizer copy, the tokenizer union, <c>lora apply</c>, <c>compress</c>) uses this folder for a GGUF input, so the
/// output is a loadable Hugging Face model and never picks up unrelated files that happen to sit beside the .gguf.
/// Disposing deletes the folder.</summary>
public sealed class GgufSidecarFolder : IDisposable
{
    private GgufSidecarFolder(string path) => Path = path;

    /// <summary>The folder holding <c>config.json</c> and, for gpt2 and llama vocabularies, <c>tokenizer.json</c>.</summary>
    public string Path { get; }

    /// <summary>Why <c>tokenizer.json</c> is absent (a tokenizer model WeightSpace does not map), or null.</summary>
    public string? TokenizerSkipped { get; private init; }

    /// <summary>The sidecar folder of <paramref name="store"/> when it is a GGUF store with a Hugging Face mapping
    /// (<see cref="GgufStore.UsesHuggingFaceNames"/>), else null (other stores take their files from their own folder).</summary>
    /// <exception cref="InvalidGgufException">A key config.json needs is missing or malformed, or the token list is malformed
    /// (the message names the file and key).</exception>
    public static GgufSidecarFolder? TryCreate(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store is not GgufStore { UsesHuggingFaceNames: true } gguf) return null;
        // Both files are built (and validated) before anything is written.
        string config = GgufHfExport.ConfigJsonOf(gguf);
        string? tokenizer = GgufHfExport.TokenizerJsonOf(gguf, out string? skipped);
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "weightspace-gguf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            AtomicFile.WriteAllText(System.IO.Path.Combine(folder, "config.json"), config);
            if (tokenizer is not null) AtomicFile.WriteAllText(System.IO.Path.Combine(folder, "tokenizer.json"), tokenizer);
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }
        return new GgufSidecarFolder(folder) { TokenizerSkipped = skipped };
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { }   // best effort: a temp folder left behind is harmless
        catch (UnauthorizedAccessException) { }
    }
}
