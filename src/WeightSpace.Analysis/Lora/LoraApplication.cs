using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Lora;

/// <summary>Merges PEFT adapters into their base, as PEFT's <c>merge_and_unload</c> does: W' = W + Σᵢ wᵢ·sᵢ·BᵢAᵢ per
/// module (DoRA modules rescaled per output row), saved tensors replacing the base's, everything else copied.</summary>
/// <remarks>
/// One module is in memory at a time: the base weight as float32, the factors and ΔW. The sum is formed in float32 and
/// rounded once to the output dtype. PEFT on a BF16 base instead adds in bfloat16 (ΔW is rounded to BF16 first, then
/// the sum), which differs by one BF16 ulp on a fraction of elements; single rounding is the principled result and equals
/// a float32 merge saved as BF16. Adapters are applied in order (which matters only for DoRA, whose rescaling is not
/// additive), each with its weight multiplying its scale, like PEFT's <c>set_scale</c>.
/// </remarks>
public static class LoraApplication
{
    /// <summary>Opens <paramref name="basePath"/> and the adapter folders, binds every adapter (refusing a misfit before
    /// anything is written), then merges them into <paramref name="outputDirectory"/>; config and tokenizer files come
    /// from the base's folder unless <see cref="LoraApplyOptions.CopyFilesFrom"/> is set.</summary>
    /// <param name="basePath">The base model (file or folder).</param>
    /// <param name="adapterPaths">PEFT adapter folders.</param>
    /// <param name="weights">One weight for all adapters, or one per adapter.</param>
    /// <param name="outputDirectory">The merged model folder.</param>
    /// <param name="options">Output dtype, sharding, overwrite.</param>
    /// <param name="ct">Cancels between tensors.</param>
    /// <exception cref="InvalidAdapterException">An adapter is invalid or does not fit the base.</exception>
    /// <exception cref="ArgumentException">The number of weights fits neither one nor the adapters.</exception>
    public static LoraApplyResult Write(string basePath, IReadOnlyList<string> adapterPaths, IReadOnlyList<double> weights, string outputDirectory,
        LoraApplyOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(adapterPaths);
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count != 1 && weights.Count != adapterPaths.Count)
            throw new ArgumentException($"Give one weight or one per adapter ({adapterPaths.Count}); got {weights.Count}.", nameof(weights));
        options ??= new LoraApplyOptions();
        var owned = new List<IDisposable>();
        try
        {
            var store = Checkpoint.Open(basePath);
            owned.Add(store);
            var bound = new List<(BoundAdapter, double)>();
            for (int i = 0; i < adapterPaths.Count; i++)
            {
                var adapter = PeftAdapter.Open(adapterPaths[i]);
                owned.Add(adapter);
                bound.Add((BoundAdapter.Bind(adapter, store), weights.Count == 1 ? weights[0] : weights[i]));
            }
            // A GGUF base brings the config.json and tokenizer.json of its metadata, not whatever sits beside the file.
            var files = ModelFiles.Of(store, basePath);
            owned.Add(files);
            var result = Write(store, bound, outputDirectory, options with { CopyFilesFrom = options.CopyFilesFrom ?? files.Folder }, ct);
            return files.TokenizerSkipped is { } why && options.CopyFilesFrom is null
                ? result with { Notes = [$"{basePath}: no tokenizer.json from its GGUF metadata ({why})"] }
                : result;
        }
        finally
        {
            foreach (var d in owned) d.Dispose();
        }
    }

    /// <summary>Writes the merged model into <paramref name="outputDirectory"/> (safetensors, atomic, like merge).</summary>
    /// <param name="baseModel">The base model the adapters were bound to.</param>
    /// <param name="adapters">Adapters bound to <paramref name="baseModel"/>, each with its weight.</param>
    /// <param name="outputDirectory">Created; must be absent or empty unless <see cref="LoraApplyOptions.Overwrite"/>.</param>
    /// <param name="options">Output dtype, sharding, files to copy.</param>
    /// <param name="ct">Checked between tensors; nothing is left behind.</param>
    /// <exception cref="InvalidAdapterException">Two adapters replace the same tensor, or an adapter was bound to another base.</exception>
    /// <exception cref="WeightSpaceException">The output directory is not empty, or a tensor cannot be read.</exception>
    public static LoraApplyResult Write(TensorStore baseModel, IReadOnlyList<(BoundAdapter Adapter, double Weight)> adapters, string outputDirectory,
        LoraApplyOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(adapters);
        options ??= new LoraApplyOptions();
        if (adapters.Count == 0) throw new ArgumentException("At least one adapter is needed.", nameof(adapters));
        var modules = new Dictionary<string, List<(BoundAdapter Adapter, BoundModule Module, double Weight)>>(StringComparer.Ordinal);
        var biases = new Dictionary<string, List<(BoundAdapter Adapter, BoundModule Module, double Weight)>>(StringComparer.Ordinal);
        var replacements = new Dictionary<string, (BoundAdapter Adapter, TensorInfo Tensor)>(StringComparer.Ordinal);
        foreach (var (adapter, weight) in adapters)
        {
            if (!double.IsFinite(weight)) throw new ArgumentException($"Adapter weight {weight} is not finite.", nameof(adapters));
            foreach (var m in adapter.Modules)
            {
                if (!baseModel.TryGetInfo(m.BaseWeight.Name, out var info) || info != m.BaseWeight)
                    throw new InvalidAdapterException(adapter.Adapter.Path, $"module '{m.Lora.Module}'", $"was bound to another base model than {baseModel.Path}");
                Add(modules, m.BaseWeight.Name, (adapter, m, weight));
                if (m.BaseBias is not null) Add(biases, m.BaseBias.Name, (adapter, m, weight));
            }
            foreach (var (target, tensor) in adapter.Replacements)
            {
                if (replacements.TryGetValue(target.Name, out var other))
                    throw new InvalidAdapterException(adapter.Adapter.Path, $"tensor '{tensor.Name}'", $"replaces '{target.Name}', which {other.Adapter.Adapter.Path} replaces too");
                replacements[target.Name] = (adapter, tensor);
            }
        }
        foreach (var name in replacements.Keys)
            if (modules.TryGetValue(name, out var users) || biases.TryGetValue(name, out users))
                throw new InvalidAdapterException(replacements[name].Adapter.Adapter.Path, $"tensor '{name}'", $"is replaced by one adapter and changed by LoRA factors of {users[0].Adapter.Adapter.Path}");

        var outputs = baseModel.Tensors
            // A block-quantised base (GGUF Q8_0, …) is written as float32: safetensors has no block types.
            .Select(t => options.DType is { } d && t.DType.IsFloatingPoint() ? t with { DType = d } : t.DType.IsBlockQuantized() ? t with { DType = DType.F32 } : t).ToArray();
        int merged = 0, replaced = 0, copied = 0;
        var directoryOptions = new MergeDirectoryOptions
        {
            ShardSizeBytes = options.ShardSizeBytes,
            Overwrite = options.Overwrite,
            ConfigFilesFrom = options.CopyFilesFrom,
            TokenizerFilesFrom = options.CopyFilesFrom,
            Metadata = new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["weightspace.lora_apply"] = string.Join("; ", adapters.Select(a => $"{a.Weight:R} * {a.Adapter.Adapter.Path}")),
            },
        };
        var files = MergeDirectory.Write(outputs, (sink, token) =>
        {
            foreach (var (info, output) in baseModel.Tensors.Zip(outputs))
            {
                token.ThrowIfCancellationRequested();
                if (replacements.TryGetValue(info.Name, out var rep))
                {
                    sink.Write(info.Name, LoraMath.Read(rep.Adapter.Adapter.Store, rep.Tensor));
                    replaced++;
                }
                else if (modules.TryGetValue(info.Name, out var users) || biases.TryGetValue(info.Name, out users))
                {
                    var w = LoraMath.Read(baseModel, info);
                    bool isBias = biases.ContainsKey(info.Name);
                    foreach (var (adapter, module, weight) in users)
                    {
                        if (isBias) LoraMath.MergeBias(adapter.Adapter.Store, module, weight, w);
                        else { LoraMath.Merge(adapter.Adapter.Store, module, weight, w); merged++; }
                    }
                    sink.Write(info.Name, w);
                }
                else
                {
                    using var buffer = baseModel.Read(info.Name);
                    if (output.DType == info.DType) sink.WriteBytes(info.Name, buffer.Bytes);
                    else sink.Write(info.Name, buffer.ToSingleArray());
                    copied++;
                }
            }
            return null;
        }, outputDirectory, directoryOptions, ct);
        return new LoraApplyResult(files, merged, replaced, copied);
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string key, T value)
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = [];
        list.Add(value);
    }
}
