using WeightSpace.Analysis.Lora;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Formats.Hub;
using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Merging.Inputs;

/// <summary>The models a merge config references, opened as mergekit resolves them: local paths (file, folder, shard
/// index), hub ids from the local Hugging Face cache (<c>ORG/NAME[@REVISION]</c>), and <c>MODEL+ADAPTER</c> with the
/// LoRA merged in as each tensor is read. A GGUF model's folder holds the config.json and tokenizer.json synthesised from
/// its metadata (<see cref="ModelFiles"/>), so the output gets a Hugging Face config and tokenizer. Disposing closes them all.</summary>
public sealed class MergeModelSet : IDisposable
{
    private readonly Dictionary<string, TensorStore> _stores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _folders = new(StringComparer.Ordinal);
    private readonly List<(string Reference, ModelFiles Files)> _files = [];
    private readonly Dictionary<string, (string Model, string? Adapter)> _paths = new(StringComparer.Ordinal);

    private MergeModelSet() { }

    /// <summary>What the opened inputs lack that the output would want (a GGUF tokenizer that could not be mapped to
    /// tokenizer.json), one line each, for the caller to print.</summary>
    public IReadOnlyList<string> Notes =>
        [.. _files.Where(f => f.Files.TokenizerSkipped is not null).Select(f => $"{f.Reference}: no tokenizer.json from its GGUF metadata ({f.Files.TokenizerSkipped})")];

    /// <summary>Every store, keyed by the config's reference.</summary>
    public IReadOnlyDictionary<string, TensorStore> Stores => _stores;

    /// <summary>The local folder holding a reference's config.json and tokenizer files (for <c>MODEL+ADAPTER</c>, the
    /// model's; for a GGUF file, the files synthesised from its metadata), or null when the reference was not opened.</summary>
    public string? FolderOf(string reference) => _folders.GetValueOrDefault(reference);

    /// <summary>The local path a reference was opened from (a hub id's snapshot folder; for <c>MODEL+ADAPTER</c>, the
    /// model's) and its adapter folder, or null when the reference was not opened.</summary>
    public (string Model, string? Adapter)? PathOf(string reference) => _paths.TryGetValue(reference, out var p) ? p : null;

    /// <summary>True when <paramref name="reference"/> was opened as <c>MODEL+ADAPTER</c> (its LoRA merged in while reading).</summary>
    public bool HasAdapter(string reference) => _stores.TryGetValue(reference, out var store) && store is AdaptedTensorStore;

    /// <summary>Opens every reference. All references that name nothing are reported together before any is opened.</summary>
    /// <param name="references">The config's model references.</param>
    /// <param name="localPath">Maps a reference (or one side of <c>+</c>) to a local path when it names one (e.g. relative
    /// to the config's folder); return it unchanged otherwise.</param>
    /// <param name="loraMergeDType">dtype of the tensors an adapter changes (mergekit's <c>--lora-merge-dtype</c>); null keeps the model's.</param>
    /// <param name="cache">The hub cache; <see cref="HuggingFaceCache.FromEnvironment"/> if null.</param>
    /// <exception cref="MergeConfigException">A reference is neither a path nor of the form of a hub id.</exception>
    /// <exception cref="ModelNotCachedException">A hub id the cache does not hold (the message says where it looked and how to download it).</exception>
    /// <exception cref="InvalidAdapterException">An adapter is invalid or does not fit its model.</exception>
    /// <exception cref="WeightSpaceException">A checkpoint cannot be read.</exception>
    public static MergeModelSet Open(IEnumerable<string> references, Func<string, string> localPath, DType? loraMergeDType = null, HuggingFaceCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(localPath);
        var list = references.Distinct(StringComparer.Ordinal).ToList();
        var resolved = new List<(string Reference, string Model, string? Adapter)>();
        var missing = new List<string>();
        foreach (string reference in list)
        {
            string whole = localPath(reference);
            if (File.Exists(whole) || Directory.Exists(whole)) { resolved.Add((reference, whole, null)); continue; }
            int plus = reference.IndexOf('+', StringComparison.Ordinal);
            string? model = Local(plus > 0 ? reference[..plus] : reference, localPath, cache, missing);
            string? adapter = plus > 0 ? Local(reference[(plus + 1)..], localPath, cache, missing) : null;
            if (model is not null && (plus <= 0 || adapter is not null)) resolved.Add((reference, model, adapter));
        }
        if (missing.Count > 0)
            throw new MergeConfigException("model", null, $"not found: {string.Join(", ", missing.Select(m => $"'{m}'"))} (neither a local path nor a hub id in the cache)");
        var set = new MergeModelSet();
        try
        {
            foreach (var (reference, model, adapter) in resolved)
            {
                var store = Checkpoint.Open(model);
                ModelFiles files;
                try { files = ModelFiles.Of(store, model); }
                catch
                {
                    store.Dispose();
                    throw;
                }
                set._files.Add((reference, files));
                set._folders[reference] = files.Folder;
                set._paths[reference] = (model, adapter);
                if (adapter is null) { set._stores[reference] = store; continue; }
                PeftAdapter? peft = null;
                try
                {
                    peft = PeftAdapter.Open(adapter);
                    set._stores[reference] = AdaptedTensorStore.Create(reference, store, peft, loraMergeDType, ownsBase: true);
                }
                catch
                {
                    peft?.Dispose();
                    store.Dispose();
                    throw;
                }
            }
        }
        catch
        {
            set.Dispose();
            throw;
        }
        return set;
    }

    private static string? Local(string part, Func<string, string> localPath, HuggingFaceCache? cache, List<string> missing)
    {
        string path = localPath(part);
        if (File.Exists(path) || Directory.Exists(path)) return path;
        if (!HuggingFaceCache.LooksLikeRepoId(part)) { missing.Add(part); return null; }
        try { return ModelReference.Resolve(part, cache).Path; }
        catch (FileNotFoundException) { missing.Add(part); return null; }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var s in _stores.Values) s.Dispose();
        _stores.Clear();
        foreach (var (_, f) in _files) f.Dispose();
        _files.Clear();
    }
}
