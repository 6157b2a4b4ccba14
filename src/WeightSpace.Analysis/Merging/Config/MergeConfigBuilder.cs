namespace WeightSpace.Analysis.Merging.Config;

/// <summary>Builds a <see cref="MergeConfig"/> in code, for one-liners such as
/// <c>merge --method ties --base B --models A C --density 0.5</c>, and writes it as the equivalent mergekit YAML
/// (<see cref="ToYaml"/>), which is what a merge records in its output's metadata.</summary>
public sealed class MergeConfigBuilder
{
    private readonly string _method;
    private string? _base;
    private readonly List<MergeModelEntry> _models = [];
    private readonly Dictionary<string, ParameterSetting> _parameters = new(StringComparer.Ordinal);
    private DType? _dtype, _outDType;
    private string? _tokenizerSource;
    private ulong _seed;

    /// <summary>Starts a config for method <paramref name="method"/> (mergekit name).</summary>
    public MergeConfigBuilder(string method) => _method = method;

    /// <summary>Sets the base model.</summary>
    public MergeConfigBuilder WithBase(string model) { _base = model; return this; }

    /// <summary>Adds a model with optional per-model numeric parameters (e.g. weight, density).</summary>
    public MergeConfigBuilder AddModel(string model, IReadOnlyDictionary<string, double>? parameters = null)
    {
        var ps = (parameters ?? new Dictionary<string, double>()).ToDictionary(p => p.Key, p => ParameterSetting.Of(p.Value), StringComparer.Ordinal);
        _models.Add(new MergeModelEntry(model, ps));
        return this;
    }

    /// <summary>Sets a top-level parameter (applies to every model unless a model overrides it).</summary>
    public MergeConfigBuilder Set(string parameter, double value) { _parameters[parameter] = ParameterSetting.Of(value); return this; }

    /// <summary>Sets a top-level parameter to a word (<c>true</c>, <c>paper</c>) or any <see cref="ParameterSetting"/>.</summary>
    public MergeConfigBuilder Set(string parameter, ParameterSetting value) { _parameters[parameter] = value; return this; }

    /// <summary>Sets <c>dtype</c> and <c>out_dtype</c> (null leaves them unset).</summary>
    public MergeConfigBuilder WithDTypes(DType? dtype, DType? outDType) { _dtype = dtype; _outDType = outDType; return this; }

    /// <summary>Sets <c>tokenizer_source</c>.</summary>
    public MergeConfigBuilder WithTokenizerSource(string? source) { _tokenizerSource = source; return this; }

    /// <summary>Sets the seed of random methods.</summary>
    public MergeConfigBuilder WithSeed(ulong seed) { _seed = seed; return this; }

    /// <summary>Validates and returns the config.</summary>
    /// <exception cref="MergeConfigException">Unknown method or parameter, missing base, missing required parameter.</exception>
    public MergeConfig Build() =>
        new(_method, _base, _models.ToArray(), null, new Dictionary<string, ParameterSetting>(_parameters), _dtype, _outDType,
            _tokenizerSource is null ? null : new TokenizerSettings(_tokenizerSource, new Dictionary<string, TokenEmbeddingSetting>(), null), _seed,
            new Dictionary<string, long>(), strict: true);

    /// <summary>The config as mergekit YAML; <see cref="MergeConfig.Parse(string)"/> of it validates and plans exactly as
    /// <see cref="Build"/> does, and its text is what a merge records in the output's metadata.</summary>
    public string ToYaml()
    {
        var y = new StringBuilder();
        y.Append("merge_method: ").AppendLine(YamlString(_method));
        if (_base is not null) y.Append("base_model: ").AppendLine(YamlString(_base));
        if (_dtype is { } d) y.Append("dtype: ").AppendLine(YamlDType(d));
        if (_outDType is { } o) y.Append("out_dtype: ").AppendLine(YamlDType(o));
        if (_tokenizerSource is not null) y.Append("tokenizer_source: ").AppendLine(YamlString(_tokenizerSource));
        if (_seed != 0) y.Append("random_seed: ").AppendLine(_seed.ToString(CultureInfo.InvariantCulture));
        y.AppendLine("models:");
        foreach (var m in _models)
        {
            y.Append("  - model: ").AppendLine(YamlString(m.Model));
            if (m.Parameters.Count > 0) y.Append("    parameters: ").AppendLine(YamlMap(m.Parameters));
        }
        if (_parameters.Count > 0) y.Append("parameters: ").AppendLine(YamlMap(_parameters));
        return y.ToString();
    }

    private static string YamlMap(IReadOnlyDictionary<string, ParameterSetting> parameters) =>
        "{" + string.Join(", ", parameters.Select(p => $"{p.Key}: {p.Value.ToYaml()}")) + "}";

    private static string YamlDType(DType dtype) => dtype switch
    {
        DType.F16 => "float16",
        DType.BF16 => "bfloat16",
        DType.F64 => "float64",
        DType.F32 => "float32",
        _ => throw new MergeConfigException("out_dtype", null, $"'{dtype.ToShortName()}' is not a merge output dtype"),
    };

    internal static string YamlNumber(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    internal static string YamlString(string s) =>
        "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
