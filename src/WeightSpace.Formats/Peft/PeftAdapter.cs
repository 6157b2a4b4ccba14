namespace WeightSpace.Formats.Peft;

/// <summary>A PEFT LoRA adapter: <c>adapter_config.json</c> plus <c>adapter_model.safetensors</c> (or the legacy
/// <c>adapter_model.bin</c>, read through the restricted unpickler: nothing in it is executed), its tensors parsed and
/// checked against each other and the config. Reading the adapter reads headers only.</summary>
/// <remarks>Whether it fits a base model is checked by the caller (the LoRA analyses bind it to a base before reading data).</remarks>
public sealed class PeftAdapter : IDisposable
{
    /// <summary>The config file name.</summary>
    public const string ConfigFileName = "adapter_config.json";
    /// <summary>The weights file name PEFT writes with safetensors.</summary>
    public const string SafetensorsFileName = "adapter_model.safetensors";
    /// <summary>The legacy weights file name (torch.save).</summary>
    public const string BinFileName = "adapter_model.bin";

    private PeftAdapter(string path, PeftAdapterConfig config, TensorStore store, IReadOnlyList<PeftModule> modules,
        IReadOnlyList<KeyValuePair<string, TensorInfo>> full, string? adapterName)
    {
        Path = path;
        Config = config;
        Store = store;
        Modules = modules;
        FullTensors = full;
        AdapterName = adapterName;
    }

    /// <summary>The adapter folder.</summary>
    public string Path { get; }
    /// <summary>The parsed config.</summary>
    public PeftAdapterConfig Config { get; }
    /// <summary>The weights file, opened lazily.</summary>
    public TensorStore Store { get; }
    /// <summary>Every LoRA-adapted module, in file order of its A factor.</summary>
    public IReadOnlyList<PeftModule> Modules { get; }
    /// <summary>Whole tensors that replace the base's: base tensor name → the adapter's tensor (modules_to_save, trained biases).</summary>
    public IReadOnlyList<KeyValuePair<string, TensorInfo>> FullTensors { get; }
    /// <summary>The adapter name left in tensor names (<c>default</c>), or null if the names carry none.</summary>
    public string? AdapterName { get; }

    /// <summary>Opens an adapter folder (or its <c>adapter_config.json</c>).</summary>
    /// <param name="path">The folder holding <c>adapter_config.json</c> and the weights.</param>
    /// <param name="options">Config limits; null for defaults.</param>
    /// <param name="checkpointOptions">Weights-file limits; null for defaults.</param>
    /// <exception cref="InvalidAdapterException">The config is invalid, a tensor name is not PEFT's, factors are missing or
    /// their shapes disagree with each other or with the config's rank, or a tensor is neither LoRA nor saved in full by the config.</exception>
    /// <exception cref="InvalidCheckpointException">The weights file is malformed or hostile (e.g. a pickle asking for a global).</exception>
    /// <exception cref="FileNotFoundException">No config or no weights file.</exception>
    public static PeftAdapter Open(string path, PeftOptions? options = null, CheckpointOptions? checkpointOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string folder = File.Exists(path) && System.IO.Path.GetFileName(path) == ConfigFileName ? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))! : path;
        if (!Directory.Exists(folder)) throw new FileNotFoundException($"{path}: no such adapter folder", path);
        string configPath = System.IO.Path.Combine(folder, ConfigFileName);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{folder}: no {ConfigFileName} (not a PEFT adapter folder)", configPath);
        var config = PeftAdapterConfig.Read(configPath, options);
        string st = System.IO.Path.Combine(folder, SafetensorsFileName), bin = System.IO.Path.Combine(folder, BinFileName);
        TensorStore store = File.Exists(st) ? Checkpoint.Open(st, checkpointOptions)
            : File.Exists(bin) ? Checkpoint.Open(bin, checkpointOptions)
            : throw new FileNotFoundException($"{folder}: neither {SafetensorsFileName} nor {BinFileName}", st);
        try
        {
            var (modules, full, name) = Validate(folder, config, store, options ?? PeftOptions.Default);
            return new PeftAdapter(folder, config, store, modules, full, name);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private sealed class Parts
    {
        public TensorInfo? A, B, BBias, Magnitude;
        public bool Embedding;
        public int Order;
    }

    private static (List<PeftModule>, List<KeyValuePair<string, TensorInfo>>, string?) Validate(string folder, PeftAdapterConfig config, TensorStore store, PeftOptions options)
    {
        var byModule = new Dictionary<string, Parts>(StringComparer.Ordinal);
        var full = new List<KeyValuePair<string, TensorInfo>>();
        var fullNames = new HashSet<string>(StringComparer.Ordinal);
        var adapterNames = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var info in store.Tensors)
        {
            var parsed = PeftTensorName.Parse(info.Name)
                ?? throw new InvalidAdapterException(folder, $"tensor '{info.Name}'", "is not a PEFT tensor name (a LoRA marker in an unexpected place)");
            if (parsed.AdapterName is { } an) adapterNames.Add(an);
            if (!info.DType.IsFloatingPoint())
                throw new InvalidAdapterException(folder, $"tensor '{info.Name}'", $"has dtype {info.DType.ToSafetensorsName()}; adapter tensors are floating point");
            if (parsed.Role == PeftTensorRole.Full)
            {
                CheckSaved(folder, config, parsed, info);
                if (!fullNames.Add(parsed.Module)) throw new InvalidAdapterException(folder, $"tensor '{info.Name}'", $"is a second tensor for '{parsed.Module}'");
                full.Add(new(parsed.Module, info));
                continue;
            }
            if (!byModule.TryGetValue(parsed.Module, out var parts)) byModule[parsed.Module] = parts = new Parts { Order = byModule.Count };
            ref TensorInfo? slot = ref parts.A;
            switch (parsed.Role)
            {
                case PeftTensorRole.LoraA: slot = ref parts.A; break;
                case PeftTensorRole.LoraB: slot = ref parts.B; break;
                case PeftTensorRole.EmbeddingA: slot = ref parts.A; parts.Embedding = true; break;
                case PeftTensorRole.EmbeddingB: slot = ref parts.B; parts.Embedding = true; break;
                case PeftTensorRole.LoraBBias: slot = ref parts.BBias; break;
                case PeftTensorRole.Magnitude: slot = ref parts.Magnitude; break;
            }
            if (slot is not null) throw new InvalidAdapterException(folder, $"module '{parsed.Module}'", $"tensor '{info.Name}' repeats '{slot.Name}'");
            slot = info;
        }
        if (adapterNames.Count > 1)
            throw new InvalidAdapterException(folder, null, $"tensors name {adapterNames.Count} adapters ({string.Join(", ", adapterNames)}); one adapter per folder is read");

        var modules = new List<PeftModule>();
        foreach (var (module, p) in byModule.OrderBy(kv => kv.Value.Order))
        {
            string subject = $"module '{module}'";
            if (p.A is null || p.B is null)
                throw new InvalidAdapterException(folder, subject, $"has {(p.A ?? p.B ?? p.Magnitude ?? p.BBias)!.Name} but no {(p.A is null ? "lora_A" : "lora_B")} factor");
            if (p.A.Shape.Rank != 2 || p.B.Shape.Rank != 2)
                throw new InvalidAdapterException(folder, subject, $"factors must be matrices: A is {p.A.Shape}, B is {p.B.Shape}");
            if (p.A.Shape[0] != p.B.Shape[1])
                throw new InvalidAdapterException(folder, subject, $"factor shapes disagree: A is {p.A.Shape} (r = {p.A.Shape[0]}) but B is {p.B.Shape} (r = {p.B.Shape[1]})");
            long r = p.A.Shape[0];
            if (r < 1 || r > options.MaxRank) throw new InvalidAdapterException(folder, subject, $"rank {r} (A is {p.A.Shape}) is outside 1..{options.MaxRank}");
            int configRank = config.RankOf(module);
            if (r != configRank)
                throw new InvalidAdapterException(folder, subject, $"config gives rank {configRank} but the factors have rank {r} (A {p.A.Shape}, B {p.B.Shape})");
            if (p.A.Shape[1] < 1 || p.B.Shape[0] < 1) throw new InvalidAdapterException(folder, subject, $"empty factor: A {p.A.Shape}, B {p.B.Shape}");
            if ((config.TargetModules is not null || config.TargetModulesRegex is not null) && !config.IsTargeted(module))
                throw new InvalidAdapterException(folder, subject, "has LoRA factors but target_modules (and layers_to_transform) do not select it");
            if (p.Magnitude is not null)
            {
                if (!config.UseDora) throw new InvalidAdapterException(folder, subject, "has lora_magnitude_vector but use_dora is false");
                if (p.Embedding) throw new InvalidAdapterException(folder, subject, "DoRA on an embedding is not supported");
                if (p.Magnitude.Shape.Rank != 1 || p.Magnitude.Shape[0] != p.B.Shape[0])
                    throw new InvalidAdapterException(folder, subject, $"magnitude vector is {p.Magnitude.Shape} but B is {p.B.Shape} (needs [{p.B.Shape[0]}])");
            }
            else if (config.UseDora && !p.Embedding) throw new InvalidAdapterException(folder, subject, "use_dora is true but there is no lora_magnitude_vector");
            if (p.BBias is not null && (p.BBias.Shape.Rank != 1 || p.BBias.Shape[0] != p.B.Shape[0]))
                throw new InvalidAdapterException(folder, subject, $"lora_B bias is {p.BBias.Shape} but B is {p.B.Shape}");
            modules.Add(new PeftModule(module, p.Embedding, p.A, p.B, p.BBias, p.Magnitude, (int)r, config.AlphaOf(module), config.ScaleOf(module)));
        }
        return (modules, full, adapterNames.Count == 1 ? adapterNames.Min : null);
    }

    // A whole tensor is legitimate when its module is in modules_to_save, or it is a bias the bias setting trains.
    private static void CheckSaved(string folder, PeftAdapterConfig config, PeftTensorName parsed, TensorInfo info)
    {
        int dot = parsed.Module.LastIndexOf('.');
        string module = dot < 0 ? parsed.Module : parsed.Module[..dot];
        string param = dot < 0 ? parsed.Module : parsed.Module[(dot + 1)..];
        bool saved = config.ModulesToSave.Any(m => module == m || module.EndsWith("." + m, StringComparison.Ordinal));
        bool bias = param == "bias" && config.Bias != PeftBias.None;
        if (!saved && !bias)
            throw new InvalidAdapterException(folder, $"tensor '{info.Name}'", config.Bias == PeftBias.None && param == "bias"
                ? "is a bias but the config's bias is \"none\""
                : $"is not a LoRA factor and module '{module}' is not in modules_to_save");
    }

    /// <summary>Closes the weights file.</summary>
    public void Dispose() => Store.Dispose();
}
