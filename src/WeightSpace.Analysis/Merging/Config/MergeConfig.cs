using WeightSpace.Analysis.Merging.Methods;

namespace WeightSpace.Analysis.Merging.Config;

/// <summary>A merge configuration in mergekit's schema: either <c>models</c> (whole models) or <c>slices</c> (layer ranges).</summary>
/// <remarks>Create one with <see cref="Parse"/>/<see cref="Load"/> (YAML) or <see cref="MergeConfigBuilder"/>; both validate
/// method names, keys, parameter names and the base model before returning, so no tensor is read for a bad config.</remarks>
public sealed class MergeConfig
{
    internal MergeConfig(string method, string? baseModel, IReadOnlyList<MergeModelEntry>? models, IReadOnlyList<MergeSlice>? slices,
        IReadOnlyDictionary<string, ParameterSetting> parameters, DType? dtype, DType? outDType, string? tokenizerSource, ulong seed,
        IReadOnlyDictionary<string, long> lines)
    {
        MergeMethod = method; BaseModel = baseModel; Models = models; Slices = slices; Parameters = parameters;
        DType = dtype; OutDType = outDType; TokenizerSource = tokenizerSource; Seed = seed; Lines = lines;
        Validate();
    }

    /// <summary>The method's name (<c>merge_method</c>).</summary>
    public string MergeMethod { get; }
    /// <summary>The top-level <c>base_model</c>, or null.</summary>
    public string? BaseModel { get; }
    /// <summary>The <c>models</c> list, or null when the config uses slices.</summary>
    public IReadOnlyList<MergeModelEntry>? Models { get; }
    /// <summary>The <c>slices</c> list, or null when the config uses models.</summary>
    public IReadOnlyList<MergeSlice>? Slices { get; }
    /// <summary>Top-level <c>parameters</c>.</summary>
    public IReadOnlyDictionary<string, ParameterSetting> Parameters { get; }
    /// <summary><c>dtype</c>: without <c>out_dtype</c>, the output dtype (arithmetic is always float32).</summary>
    public DType? DType { get; }
    /// <summary><c>out_dtype</c>: the dtype written for floating-point tensors.</summary>
    public DType? OutDType { get; }
    /// <summary><c>tokenizer_source</c>: <c>base</c> or a model reference, or null.</summary>
    public string? TokenizerSource { get; }
    /// <summary>Seed of random methods (<c>random_seed</c>, a WeightSpace extension; mergekit takes it on its command line).</summary>
    public ulong Seed { get; }

    /// <summary>The method object.</summary>
    public IMergeMethod Method => MergeMethods.Get(MergeMethod);

    internal IReadOnlyDictionary<string, long> Lines { get; }

    internal long? LineOf(string key) => Lines.TryGetValue(key, out long l) ? l : null;

    /// <summary>Parses YAML text.</summary>
    /// <param name="yaml">The configuration.</param>
    /// <exception cref="MergeConfigException">Malformed YAML, an unknown key, method or parameter, a missing base model,
    /// a missing required parameter; the message names the key and line.</exception>
    public static MergeConfig Parse(string yaml) => MergeConfigYaml.Read(yaml);

    /// <summary>Reads and parses a YAML file.</summary>
    /// <exception cref="MergeConfigException">As <see cref="Parse"/>.</exception>
    public static MergeConfig Load(string path) => MergeConfigYaml.Read(File.ReadAllText(path));

    /// <summary>Every model the config names, base first, without duplicates.</summary>
    public IReadOnlyList<string> ReferencedModels()
    {
        var list = new List<string>();
        void Add(string? m) { if (m is not null && !list.Contains(m)) list.Add(m); }
        Add(BaseModel);
        foreach (var m in Models ?? []) Add(m.Model);
        foreach (var s in Slices ?? []) { Add(s.BaseModel); foreach (var src in s.Sources) Add(src.Model); }
        return list;
    }

    private void Validate()
    {
        var method = MergeMethods.Get(MergeMethod, LineOf("merge_method"));
        if ((Models is null) == (Slices is null))
            throw new MergeConfigException("models", null, "exactly one of 'models' or 'slices' must be given");
        if (Models is { Count: 0 }) throw new MergeConfigException("models", LineOf("models"), "the list is empty");
        if (Slices is { Count: 0 }) throw new MergeConfigException("slices", LineOf("slices"), "the list is empty");
        var names = method.Parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        void CheckNames(IReadOnlyDictionary<string, ParameterSetting> ps, bool perModelOnly)
        {
            foreach (var (name, setting) in ps)
            {
                if (!names.Contains(name))
                    throw new MergeConfigException(name, setting.Line, $"method '{MergeMethod}' has no parameter '{name}'; valid: {string.Join(", ", names)}");
                var spec = method.Parameters.First(p => p.Name == name);
                if (perModelOnly && spec.Scope == ParameterScope.Global)
                    throw new MergeConfigException(name, setting.Line, $"'{name}' is a global parameter of '{MergeMethod}'; set it under the top-level or slice 'parameters'");
                foreach (object leaf in setting.Leaves()) spec.Convert(leaf, setting.Line);
            }
        }
        CheckNames(Parameters, false);
        foreach (var m in Models ?? []) CheckNames(m.Parameters, true);
        foreach (var s in Slices ?? [])
        {
            CheckNames(s.Parameters, false);
            foreach (var src in s.Sources) CheckNames(src.Parameters, true);
            if (s.Sources.Count == 0) throw new MergeConfigException("sources", LineOf("slices"), "a slice has no sources");
            foreach (var src in s.Sources)
                if (src.LayerStart < 0 || src.LayerEnd < src.LayerStart)
                    throw new MergeConfigException("layer_range", LineOf("slices"), $"[{src.LayerStart}, {src.LayerEnd}] of '{src.Model}' is not a valid range");
        }
        if (method.BaseModel == BaseModelRole.Required)
        {
            if (Models is not null && BaseModel is null)
                throw new MergeConfigException("base_model", null, $"method '{MergeMethod}' requires a base_model");
            foreach (var s in Slices ?? [])
                if ((s.BaseModel ?? BaseModel) is null)
                    throw new MergeConfigException("base_model", LineOf("slices"), $"method '{MergeMethod}' requires a base_model (top level or per slice)");
        }
        // A required parameter must be set somewhere on every lookup path; filters are checked per tensor by the plan.
        foreach (var spec in method.Parameters.Where(p => p.IsRequired))
        {
            if (Parameters.ContainsKey(spec.Name)) continue;
            if (spec.Scope == ParameterScope.Global)
            {
                if (Slices is not null && Slices.All(s => s.Parameters.ContainsKey(spec.Name))) continue;
                throw new MergeConfigException(spec.Name, null, $"method '{MergeMethod}' requires parameter '{spec.Name}' ({spec.Description})");
            }
            string? baseForRequired = method.BaseModel == BaseModelRole.Ignored ? null : BaseModel;
            foreach (var m in Models ?? [])
                if (m.Model != baseForRequired && !m.Parameters.ContainsKey(spec.Name))
                    throw new MergeConfigException(spec.Name, null, $"method '{MergeMethod}' requires parameter '{spec.Name}' for model '{m.Model}'");
            foreach (var s in Slices ?? [])
            {
                string? sliceBase = method.BaseModel == BaseModelRole.Ignored ? null : s.BaseModel ?? BaseModel;
                if (s.Parameters.ContainsKey(spec.Name)) continue;
                foreach (var src in s.Sources)
                    if (src.Model != sliceBase && !src.Parameters.ContainsKey(spec.Name))
                        throw new MergeConfigException(spec.Name, LineOf("slices"), $"method '{MergeMethod}' requires parameter '{spec.Name}' for source '{src.Model}'");
            }
        }
        if (TokenizerSource is "union")
            throw new MergeConfigException("tokenizer_source", LineOf("tokenizer_source"), "'union' builds a new vocabulary, which WeightSpace does not do; use 'base' or a model whose vocabulary all models share");
        if (TokenizerSource is "base" && (BaseModel ?? Slices?.FirstOrDefault(s => s.BaseModel is not null)?.BaseModel) is null)
            throw new MergeConfigException("tokenizer_source", LineOf("tokenizer_source"), "'base' needs a base_model");
        if (TokenizerSource is not null and not "base" && !ReferencedModels().Contains(TokenizerSource))
            throw new MergeConfigException("tokenizer_source", LineOf("tokenizer_source"), $"'{TokenizerSource}' is not one of the merged models");
    }
}
