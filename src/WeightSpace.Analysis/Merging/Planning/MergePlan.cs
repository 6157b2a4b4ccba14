using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Kernels;
using WeightSpace.Analysis.Merging.Methods;
using WeightSpace.Analysis.Merging.Vocabulary;

namespace WeightSpace.Analysis.Merging.Planning;

/// <summary>A validated merge: for every output tensor, its inputs, method parameters and output dtype. Building it reads
/// only headers; every missing tensor and shape mismatch is found here, before <see cref="MergeRunner"/> reads data.</summary>
public sealed class MergePlan
{
    private static readonly string[] EmbeddingMarkers = ["embed_tokens", "wte", "word_embeddings", "lm_head", "embed_in", "embed_out"];

    private MergePlan(IMergeMethod method, IReadOnlyList<PlannedTensor> tensors, string? tokenizerSource, int layerCount)
    {
        LayerCount = layerCount;
        Method = method;
        Tensors = tensors;
        Outputs = tensors.Select(t => t.Output).ToArray();
        TokenizerSource = tokenizerSource;
    }

    /// <summary>The merge method.</summary>
    public IMergeMethod Method { get; }

    /// <summary>Every output tensor's plan, in output order (pre-layer tensors, layers, post-layer tensors).</summary>
    public IReadOnlyList<PlannedTensor> Tensors { get; }

    /// <summary>The output tensors (name, dtype, shape) in output order: what a writer needs before the first write.</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>The model whose tokenizer files belong with the output (<c>tokenizer_source</c>, <c>base</c> resolved), or null.</summary>
    public string? TokenizerSource { get; }

    /// <summary>Rows of the output embedding when the config builds a vocabulary (<c>tokenizer_source</c> or the
    /// <c>tokenizer:</c> block), padded as <c>pad_to_multiple_of</c> asks: config.json's <c>vocab_size</c>; else null.</summary>
    public int? VocabularySize { get; private init; }

    /// <summary>Number of transformer layers in the output (after slicing and stacking): what config.json's layer count must say.</summary>
    public int LayerCount { get; }

    /// <summary>Largest float32 working set of one tensor, in elements (inputs + output); the runner's memory bound is this × 4 bytes.</summary>
    public long PeakWorkingElements => Tensors.Count == 0 ? 0 : Tensors.Max(t => t.WorkingElements);

    /// <summary>Builds and validates the plan.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="models">Every model the config references, opened, keyed by the config's model reference.</param>
    /// <param name="seed">Overrides the config's seed (<c>random_seed</c>) for random methods, e.g. from a <c>--seed</c> option.</param>
    /// <exception cref="MergeConfigException">A referenced model is not provided, a base model is not among a slice's sources,
    /// model counts or layer ranges do not fit the method, a parameter is missing or out of range for some tensor,
    /// or the tokenizer source's vocabulary differs from another model's.</exception>
    /// <exception cref="ModelMismatchException">Tensors are missing or have different shapes; lists all of them.</exception>
    public static MergePlan Create(MergeConfig config, IReadOnlyDictionary<string, TensorStore> models, ulong? seed = null) =>
        Create(config, models, seed, null);

    /// <summary>Builds and validates the plan; with <paramref name="vocabulary"/> (from <see cref="MergeVocabulary.Build"/>)
    /// every model's embedding rows are remapped onto the output vocabulary first, so models with different vocabularies merge.</summary>
    /// <exception cref="MergeConfigException">As <see cref="Create(MergeConfig, IReadOnlyDictionary{string, TensorStore}, ulong?)"/>.</exception>
    /// <exception cref="ModelMismatchException">Tensors are missing or have different shapes; lists all of them.</exception>
    public static MergePlan Create(MergeConfig config, IReadOnlyDictionary<string, TensorStore> models, ulong? seed, MergeVocabulary? vocabulary)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(models);
        if (vocabulary is not null) models = vocabulary.Wrap(models);
        var method = config.Method;
        foreach (string reference in config.ReferencedModels())
            if (!models.ContainsKey(reference))
                throw new MergeConfigException("model", null, $"'{reference}' is referenced but was not opened");
        var slices = Normalize(config, method, models);
        string? tokenizerSource = vocabulary?.TokenizerModel ?? ResolveTokenizer(config, models);
        var problems = new List<string>();
        var planned = new List<PlannedTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);

        void Plan(ResolvedSlice slice, string outputName, Func<TensorSource, string> inputName, double t)
        {
            if (!names.Add(outputName)) { problems.Add($"output tensor '{outputName}' is produced twice"); return; }
            var sources = slice.Sources.Select(s =>
            {
                var partial = new TensorSource(s.Source.Model, models[s.Source.Model], "");
                return partial with { StoredName = inputName(partial) };
            }).ToList();
            TensorSource? baseSource = slice.BaseIndex is int b ? sources[b] : null;
            var merged = sources.Where((_, i) => i != slice.BaseIndex).ToList();
            var infos = new List<TensorInfo>();
            bool missing = false;
            foreach (var s in sources)
            {
                if (s.Store.TryGetInfo(s.StoredName, out var info)) infos.Add(info);
                else { problems.Add($"{s.Model}: no tensor '{s.StoredName}' (needed for output '{outputName}')"); missing = true; }
            }
            if (missing) return;
            var reference = baseSource is not null ? infos[slice.BaseIndex!.Value] : infos[0];
            for (int i = 0; i < sources.Count; i++)
                if (infos[i].Shape != reference.Shape)
                    problems.Add($"{sources[i].Model}: tensor '{sources[i].StoredName}' is {infos[i].Shape} but {sources[slice.BaseIndex ?? 0].Model} has {reference.Shape}");
            bool isFloat = reference.DType.IsFloatingPoint();
            if (isFloat && reference.ElementCount > Array.MaxLength)
                problems.Add($"tensor '{outputName}' has {reference.ElementCount} elements; at most {Array.MaxLength} can be merged as one buffer");
            var dtype = isFloat ? config.OutDType ?? config.DType ?? reference.DType : reference.DType;
            // Quantised inputs (GGUF blocks) are merged dequantised; safetensors has no block types, so they come out F32.
            if (dtype.IsBlockQuantized()) dtype = DType.F32;
            var output = new TensorInfo(outputName, dtype, reference.Shape);
            var parameters = ResolveParameters(config, method, slice, merged.Count, outputName, sources, t);
            if (method is IParameterCheck check && check.Check(parameters, reference.Shape) is { } problem)
                throw new MergeConfigException("parameters", config.LineOf("parameters"), $"tensor '{outputName}': {problem}");
            planned.Add(new PlannedTensor(output, baseSource, merged, parameters, !isFloat, DeterministicRandom.TensorSeed(seed ?? config.Seed, outputName)));
        }

        // Every tensor outside the layers (embeddings before them; final norm and lm_head after) evaluates gradients at
        // t = 0: mergekit's plan_module reads both its pre_weights and post_weights through one ConfigReader(t=0).
        var first = slices[0];
        var firstReference = models[first.Sources[first.BaseIndex ?? 0].Source.Model];
        foreach (var info in firstReference.Tensors.Where(x => !LayerNames.TryParse(x.Name, out _, out _, out _) && LayerNames.IsPreLayer(x.Name)))
            Plan(first, info.Name, _ => info.Name, 0);
        int outLayer = 0;
        foreach (var slice in slices)
        {
            var refSource = slice.Sources[slice.BaseIndex ?? 0].Source;
            var refStore = models[refSource.Model];
            int count = refSource.LayerEnd - refSource.LayerStart;
            for (int offset = 0; offset < count; offset++, outLayer++)
            {
                double t = count > 1 ? offset / (double)(count - 1) : 1;
                int refLayer = refSource.LayerStart + offset;
                foreach (var info in refStore.Tensors)
                {
                    if (!LayerNames.TryParse(info.Name, out string prefix, out int index, out string suffix) || index != refLayer) continue;
                    var bySource = slice.Sources.ToDictionary(s => s.Source.Model, s => LayerNames.WithIndex(prefix, s.Source.LayerStart + offset, suffix));
                    Plan(slice, LayerNames.WithIndex(prefix, outLayer, suffix), src => bySource[src.Model], t);
                }
            }
        }
        var last = slices[^1];
        var lastReference = models[last.Sources[last.BaseIndex ?? 0].Source.Model];
        foreach (var info in lastReference.Tensors.Where(x => !LayerNames.TryParse(x.Name, out _, out _, out _) && !LayerNames.IsPreLayer(x.Name)))
            Plan(last, info.Name, _ => info.Name, 0);

        if (problems.Count > 0) throw new ModelMismatchException(problems);
        return new MergePlan(method, planned, tokenizerSource, outLayer) { VocabularySize = vocabulary?.Rows };
    }

    private sealed record ResolvedSource(MergeSliceSource Source);
    private sealed record ResolvedSlice(MergeSlice Slice, IReadOnlyList<ResolvedSource> Sources, int? BaseIndex);

    private static List<ResolvedSlice> Normalize(MergeConfig config, IMergeMethod method, IReadOnlyDictionary<string, TensorStore> models)
    {
        var slices = new List<MergeSlice>();
        if (config.Models is { } entries)
        {
            // mergekit turns a models list into one slice over every layer, adding the base as a source if it is not listed.
            var sources = new List<MergeSliceSource>();
            int? layers = null;
            foreach (string model in entries.Select(e => e.Model).Append(config.BaseModel).OfType<string>().Distinct())
            {
                int n = CountLayers(models[model]);
                if (layers is int l && l != n)
                    throw new MergeConfigException("models", config.LineOf("models"), $"'{model}' has {n} layers but another model has {l}");
                layers = n;
            }
            foreach (var e in entries) sources.Add(new MergeSliceSource(e.Model, 0, layers!.Value, e.Parameters));
            if (config.BaseModel is { } b && method.BaseModel != BaseModelRole.Ignored && entries.All(e => e.Model != b))
                sources.Add(new MergeSliceSource(b, 0, layers!.Value, new Dictionary<string, ParameterSetting>()));
            slices.Add(new MergeSlice(sources, null, new Dictionary<string, ParameterSetting>()));
        }
        else slices.AddRange(config.Slices!);

        var result = new List<ResolvedSlice>();
        long? line = config.LineOf(config.Models is null ? "slices" : "models");
        foreach (var slice in slices)
        {
            var lengths = slice.Sources.Select(s => s.LayerEnd - s.LayerStart).Distinct().ToList();
            if (lengths.Count != 1)
                throw new MergeConfigException("layer_range", line, $"all sources of a slice must span the same number of layers; got {string.Join(", ", slice.Sources.Select(s => $"{s.Model} [{s.LayerStart}, {s.LayerEnd})"))}");
            foreach (var s in slice.Sources)
            {
                int n = CountLayers(models[s.Model]);
                if (s.LayerEnd > n && !(n == 0 && s.LayerEnd == 0))
                    throw new MergeConfigException("layer_range", line, $"'{s.Model}' has {n} layers; range [{s.LayerStart}, {s.LayerEnd}) is outside");
            }
            int? baseIndex = null;
            string? baseModel = slice.BaseModel ?? config.BaseModel;
            if (method.BaseModel is BaseModelRole.Required or BaseModelRole.Optional && baseModel is not null)
            {
                int i = slice.Sources.ToList().FindIndex(s => s.Model == baseModel);
                if (i < 0) throw new MergeConfigException("base_model", line, $"base model '{baseModel}' must be one of the slice's sources");
                baseIndex = i;
            }
            int mergedCount = slice.Sources.Count - (baseIndex is null ? 0 : 1);
            if (mergedCount < method.MinimumModels || mergedCount > method.MaximumModels)
                throw new MergeConfigException(config.Models is null ? "sources" : "models", line,
                    $"method '{method.Name}' merges {(method.MinimumModels == method.MaximumModels ? $"exactly {method.MinimumModels}" : $"{method.MinimumModels} to {method.MaximumModels}")} model(s) besides the base; {mergedCount} given");
            result.Add(new ResolvedSlice(slice, slice.Sources.Select(s => new ResolvedSource(s)).ToList(), baseIndex));
        }
        return result;
    }

    /// <summary>Layers of a model: one more than the largest layer index in its tensor names (0 when none is numbered).</summary>
    public static int CountLayers(TensorStore store)
    {
        int max = -1;
        foreach (var t in store.Tensors)
            if (LayerNames.TryParse(t.Name, out _, out int i, out _)) max = Math.Max(max, i);
        return max + 1;
    }

    // Lookup order as mergekit's ConfigReader: source, then slice, then top level, then the default.
    private static MergeParameters ResolveParameters(MergeConfig config, IMergeMethod method, ResolvedSlice slice, int modelCount,
        string outputName, IReadOnlyList<TensorSource> sources, double t)
    {
        var specs = method.Parameters;
        var values = new double[specs.Count][];
        var mergedIndices = Enumerable.Range(0, slice.Sources.Count).Where(i => i != slice.BaseIndex).ToArray();
        for (int p = 0; p < specs.Count; p++)
        {
            var spec = specs[p];
            if (spec.Scope == ParameterScope.Global)
                values[p] = [Resolve(spec, null, outputName, t)];
            else
                values[p] = mergedIndices.Select(i => Resolve(spec, slice.Sources[i].Source, sources[i].StoredName, t)).ToArray();
        }
        return MergeParameters.FromResolved(specs, values, modelCount);

        double Resolve(ParameterSpec spec, MergeSliceSource? source, string tensorName, double tt)
        {
            IEnumerable<IReadOnlyDictionary<string, ParameterSetting>> chain = [slice.Slice.Parameters, config.Parameters];
            if (source is not null) chain = chain.Prepend(source.Parameters);
            foreach (var dict in chain)
            {
                if (!dict.TryGetValue(spec.Name, out var setting)) continue;
                object? v = setting.Evaluate(tensorName, tt);
                if (v is null) continue;
                return spec.Convert(v, setting.Line);
            }
            if (spec.Default is double d) return d;
            string who = source is null ? "" : $" of model '{source.Model}'";
            throw new MergeConfigException(spec.Name, null, $"required parameter has no value for tensor '{tensorName}'{who} (no filter matched)");
        }
    }

    private static string? ResolveTokenizer(MergeConfig config, IReadOnlyDictionary<string, TensorStore> models)
    {
        if (config.TokenizerSource is null) return null;
        string source = config.TokenizerSource is "base" or "union" ? config.BaseModel ?? config.ReferencedModels()[0] : config.TokenizerSource;
        var sourceStore = models[source];
        foreach (var info in sourceStore.Tensors.Where(t => EmbeddingMarkers.Any(m => t.Name.Contains(m, StringComparison.Ordinal))))
            foreach (string other in config.ReferencedModels().Where(m => m != source))
                if (models[other].TryGetInfo(info.Name, out var o) && o.Shape != info.Shape)
                    throw new MergeConfigException("tokenizer_source", config.LineOf("tokenizer_source"),
                        $"vocabularies differ: '{info.Name}' is {info.Shape} in '{source}' but {o.Shape} in '{other}'; build the output vocabulary from the tokenizers first (MergeVocabulary.Build; the merge verb does)");
        return source;
    }
}
