namespace WeightSpace.Cli;

/// <summary>The checkpoints one command opened, closed together when the command ends: the one place a verb's store
/// lifetimes are managed (<c>using var models = OpenedModels.Open(…)</c>).</summary>
internal sealed class OpenedModels : IDisposable
{
    private readonly Dictionary<string, TensorStore> _stores;

    private OpenedModels(Dictionary<string, TensorStore> stores) => _stores = stores;

    /// <summary>The store opened for <paramref name="key"/>.</summary>
    public TensorStore this[string key] => _stores[key];

    /// <summary>Every store by key.</summary>
    public IReadOnlyDictionary<string, TensorStore> Stores => _stores;

    /// <summary>Opens every (key, path); all missing paths are reported together before any model is opened, by
    /// <paramref name="missing"/> (default: a "no such file or directory" error naming them).</summary>
    /// <exception cref="FileNotFoundException">A path does not exist (and <paramref name="missing"/> is null).</exception>
    /// <exception cref="WeightSpaceException">A checkpoint cannot be read; those opened before it are closed.</exception>
    public static OpenedModels Open(IEnumerable<(string Key, string Path)> models, Func<IReadOnlyList<string>, Exception>? missing = null)
    {
        // Hub ids (ORG/NAME[@REVISION]) become their snapshot folder in the local Hugging Face cache; one that is not
        // cached fails at once with where it looked and how to download it.
        var list = models.DistinctBy(m => m.Key).Select(m => (m.Key, Path: LocalPath(m.Path))).ToList();
        var absent = list.Where(m => !File.Exists(m.Path) && !Directory.Exists(m.Path)).Select(m => m.Path).Distinct().ToList();
        if (absent.Count > 0)
            throw missing?.Invoke(absent) ?? new FileNotFoundException($"{string.Join(", ", absent)}: no such file or directory", absent[0]);
        var stores = new Dictionary<string, TensorStore>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, path) in list) stores[key] = Checkpoint.Open(path);
        }
        catch
        {
            foreach (var s in stores.Values) s.Dispose();
            throw;
        }
        return new OpenedModels(stores);
    }

    private static string LocalPath(string reference)
    {
        if (File.Exists(reference) || Directory.Exists(reference) || !WeightSpace.Formats.Hub.HuggingFaceCache.LooksLikeRepoId(reference)) return reference;
        try { return Checkpoint.ResolveLocal(reference); }
        catch (FileNotFoundException) { return reference; }
    }

    /// <summary>Opens every (key, path) as <see cref="Open(IEnumerable{ValueTuple{string, string}}, Func{IReadOnlyList{string}, Exception}?)"/>,
    /// except that a PEFT adapter folder among them (other than <paramref name="baseKey"/>'s) stands for the base with the
    /// adapter merged in on read, as <c>diff BASE ADAPTER</c> takes it (<see cref="AdaptedTensorStore"/>).</summary>
    /// <exception cref="UsageException">An adapter folder is given but no base (<paramref name="baseKey"/> absent).</exception>
    /// <exception cref="WeightSpace.Formats.Peft.InvalidAdapterException">An adapter does not fit the base.</exception>
    public static OpenedModels Open(IEnumerable<(string Key, string Path)> models, string baseKey, string baseOption)
    {
        // Hub ids are resolved first, so an adapter in the Hugging Face cache is recognised as one.
        var list = models.DistinctBy(m => m.Key).Select(m => (m.Key, Path: LocalPath(m.Path))).ToList();
        var adapters = list.Where(m => m.Key != baseKey && AdaptedTensorStore.IsAdapterFolder(m.Path)).ToList();
        if (adapters.Count > 0 && !list.Exists(m => m.Key == baseKey))
            throw new UsageException($"{adapters[0].Path} is a PEFT adapter: give its base with {baseOption} BASE (it is analysed as base + adapter)");
        var opened = Open(list.Except(adapters));
        try
        {
            foreach (var (key, path) in adapters) opened._stores[key] = AdaptedTensorStore.Open(opened[baseKey], path);
        }
        catch
        {
            opened.Dispose();
            throw;
        }
        return opened;
    }

    /// <summary>Opens paths keyed by themselves.</summary>
    public static OpenedModels Open(IEnumerable<string> paths) => Open(paths.Select(p => (p, p)));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var s in _stores.Values) s.Dispose();
        _stores.Clear();
    }
}
