using WeightSpace.Analysis.Merging.Methods;

namespace WeightSpace.Analysis.Merging.Config;

/// <summary>A merge configuration in mergekit's schema: either <c>models</c> (whole models) or <c>slices</c> (layer ranges).</summary>
/// <remarks>Create one with <see cref="Parse(string)"/>/<see cref="Load"/> (YAML) or <see cref="MergeConfigBuilder"/>; both validate
/// method names, keys, parameter names and the base model before returning, so no tensor is read for a bad config.</remarks>
public sealed class MergeConfig
{
    internal MergeConfig(string method, string? baseModel, IReadOnlyList<MergeModelEntry>? models, IReadOnlyList<MergeSlice>? slices,
        IReadOnlyDictionary<string, ParameterSetting> parameters, DType? dtype, DType? outDType, TokenizerSettings? tokenizer, ulong seed,
        IReadOnlyDictionary<string, long> lines, string? chatTemplate = null, string? name = null, bool strict = false)
    {
        MergeMethod = method; BaseModel = baseModel; Models = models; Slices = slices; Parameters = parameters;
        DType = dtype; OutDType = outDType; Tokenizer = tokenizer; Seed = seed; Lines = lines;
        ChatTemplate = chatTemplate; Name = name;
        Validate(strict);
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
    /// <summary><c>tokenizer_source</c> (<c>base</c>, <c>union</c> or a model reference), or the <c>tokenizer:</c> block's source; null for neither.</summary>
    public string? TokenizerSource => Tokenizer?.Source;
    /// <summary>The output vocabulary's settings (<c>tokenizer_source</c> or the <c>tokenizer:</c> block), or null: the
    /// donor's tokenizer files are copied and every model must have the same embedding shapes.</summary>
    public TokenizerSettings? Tokenizer { get; }
    /// <summary><c>chat_template</c>: <c>auto</c>, a template name (chatml, llama3, alpaca, exaone) or literal Jinja; null for none.</summary>
    public string? ChatTemplate { get; }
    /// <summary><c>name</c>: a document's name in a multi-document config (mergekit-multi), or null.</summary>
    public string? Name { get; }
    /// <summary>Problems mergekit ignores (e.g. a parameter the method does not take), each naming key and line.
    /// Parsing with <c>strict</c> turns them into errors.</summary>
    public IReadOnlyList<string> Warnings => _warnings;
    private readonly List<string> _warnings = [];
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
    public static MergeConfig Parse(string yaml) => MergeConfigYaml.Read(yaml, strict: false);

    /// <summary>Parses YAML text; with <paramref name="strict"/>, what mergekit ignores (parameters a method does not
    /// take) is an error instead of a <see cref="Warnings"/> entry.</summary>
    /// <exception cref="MergeConfigException">As <see cref="Parse(string)"/>, and ignored parameters when strict.</exception>
    public static MergeConfig Parse(string yaml, bool strict) => MergeConfigYaml.Read(yaml, strict);

    /// <summary>Every document of a multi-document YAML (mergekit-multi): each a config; named ones (<c>name:</c>) are
    /// intermediate merges the others may reference by name.</summary>
    /// <exception cref="MergeConfigException">A document is invalid, two share a name, or more than one is unnamed.</exception>
    public static IReadOnlyList<MergeConfig> ParseDocuments(string yaml, bool strict = false) => MergeConfigYaml.ReadAll(yaml, strict);

    /// <summary>The same config with model references replaced by <paramref name="map"/> (used to point a
    /// multi-document config's names at the folders their merges were written to).</summary>
    public MergeConfig WithModels(Func<string, string> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        string? M(string? m) => m is null ? null : map(m);
        var tokenizer = Tokenizer is null ? null : Tokenizer with
        {
            Source = Tokenizer.Source is "base" or "union" ? Tokenizer.Source : map(Tokenizer.Source),
            Tokens = Tokenizer.Tokens.ToDictionary(t => t.Key, t => t.Value with { Model = M(t.Value.Model) }, StringComparer.Ordinal),
        };
        return new MergeConfig(MergeMethod, M(BaseModel), Models?.Select(m => m with { Model = map(m.Model) }).ToArray(),
            Slices?.Select(s => s with { BaseModel = M(s.BaseModel), Sources = s.Sources.Select(x => x with { Model = map(x.Model) }).ToArray() }).ToArray(),
            Parameters, DType, OutDType, tokenizer, Seed, Lines, ChatTemplate, Name);
    }

    /// <summary>Reads and parses a YAML file.</summary>
    /// <exception cref="MergeConfigException">As <see cref="Parse(string)"/>.</exception>
    public static MergeConfig Load(string path) => MergeConfigYaml.Read(File.ReadAllText(path), strict: false);

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

    private void Validate(bool strict)
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
                // mergekit reads only the parameters a method declares; others are ignored, so here they are a warning
                // (an error with strict).
                if (!names.Contains(name))
                {
                    Ignored(name, setting.Line, $"method '{MergeMethod}' has no parameter '{name}' (valid: {string.Join(", ", names)}); ignored, as mergekit does");
                    continue;
                }
                var spec = method.Parameters.First(p => p.Name == name);
                if (perModelOnly && spec.Scope == ParameterScope.Global)
                {
                    Ignored(name, setting.Line, $"'{name}' is a global parameter of '{MergeMethod}' and is ignored under a model, as mergekit does; set it under the top-level or slice 'parameters'");
                    continue;
                }
                foreach (object leaf in setting.Leaves()) spec.Convert(leaf, setting.Line);
            }
        }
        void Ignored(string key, long? line, string detail)
        {
            var e = new MergeConfigException(key, line, detail);
            if (strict) throw new MergeConfigException(key, line, detail + " (refused: --strict)");
            _warnings.Add(e.Message);
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
            string? baseForRequired = method.BaseModel is BaseModelRole.Ignored or BaseModelRole.Included ? null : BaseModel;
            foreach (var m in Models ?? [])
                if (m.Model != baseForRequired && !m.Parameters.ContainsKey(spec.Name))
                    throw new MergeConfigException(spec.Name, null, $"method '{MergeMethod}' requires parameter '{spec.Name}' for model '{m.Model}'");
            foreach (var s in Slices ?? [])
            {
                string? sliceBase = method.BaseModel is BaseModelRole.Ignored or BaseModelRole.Included ? null : s.BaseModel ?? BaseModel;
                if (s.Parameters.ContainsKey(spec.Name)) continue;
                foreach (var src in s.Sources)
                    if (src.Model != sliceBase && !src.Parameters.ContainsKey(spec.Name))
                        throw new MergeConfigException(spec.Name, LineOf("slices"), $"method '{MergeMethod}' requires parameter '{spec.Name}' for source '{src.Model}'");
            }
        }
        if (TokenizerSource is not null and not "base" and not "union" && !ReferencedModels().Contains(TokenizerSource))
            throw new MergeConfigException("tokenizer_source", LineOf("tokenizer_source") ?? LineOf("tokenizer"), $"'{TokenizerSource}' is not one of the merged models");
        foreach (var (token, setting) in Tokenizer?.Tokens ?? new Dictionary<string, TokenEmbeddingSetting>())
            if (setting.Model is { } m && !ReferencedModels().Contains(m))
                throw new MergeConfigException("tokens", LineOf("tokenizer"), $"token '{token}': source model '{m}' is not one of the merged models");
        if (ChatTemplate is { } template && template != "auto" && !ChatTemplates.IsNamed(template) && (template.Length < 20 || !template.Contains('{', StringComparison.Ordinal)))
            throw new MergeConfigException("chat_template", LineOf("chat_template"),
                $"'{template}' is neither 'auto', a template name ({string.Join(", ", ChatTemplates.Names)}) nor a Jinja template (at least 20 characters with a '{{')");
    }
}
