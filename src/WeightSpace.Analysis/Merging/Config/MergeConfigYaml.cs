using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WeightSpace.Analysis.Merging.Config;

/// <summary>Reads mergekit's YAML schema through YamlDotNet's node model, so every error can name its key and line.</summary>
internal static class MergeConfigYaml
{
    private static readonly string[] TopKeys = ["models", "slices", "merge_method", "base_model", "parameters", "dtype", "out_dtype", "tokenizer_source", "random_seed", "chat_template", "name"];
    private static readonly Dictionary<string, string> Unsupported = new()
    {
        ["modules"] = "multi-module configs are not supported; merge each module separately",
        ["tokenizer"] = "the tokenizer block (adding tokens, vocabulary union) is not supported; use tokenizer_source: base",
        ["residual_weight"] = "residual_weight is not supported",
    };

    public static MergeConfig Read(string text)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new MergeConfigException("yaml", e.Start.Line, e.Message); }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new MergeConfigException("yaml", 1, "the config must be one YAML mapping");
        var lines = new Dictionary<string, long>(StringComparer.Ordinal);
        string? method = null, baseModel = null, tokenizerSource = null;
        List<MergeModelEntry>? models = null;
        List<MergeSlice>? slices = null;
        IReadOnlyDictionary<string, ParameterSetting> parameters = new Dictionary<string, ParameterSetting>();
        DType? dtype = null, outDType = null;
        ulong seed = 0;
        foreach (var (keyNode, value) in root.Children)
        {
            string key = Key(keyNode);
            lines[key] = keyNode.Start.Line;
            CheckKey(key, keyNode, TopKeys);
            switch (key)
            {
                case "merge_method": method = Scalar(value, key); break;
                case "base_model": baseModel = Scalar(value, key); break;
                case "tokenizer_source": tokenizerSource = Scalar(value, key); break;
                case "chat_template": case "name": Scalar(value, key); break;
                case "dtype": dtype = ParseDType(value, key, computeDType: true); break;
                case "out_dtype": outDType = ParseDType(value, key, computeDType: false); break;
                case "random_seed":
                    if (!ulong.TryParse(Scalar(value, key), NumberStyles.None, CultureInfo.InvariantCulture, out seed))
                        throw new MergeConfigException(key, value.Start.Line, "must be a non-negative integer");
                    break;
                case "parameters": parameters = Parameters(value); break;
                case "models":
                    models = [];
                    foreach (var item in Sequence(value, key)) models.Add(ModelEntry(item));
                    break;
                case "slices":
                    slices = [];
                    foreach (var item in Sequence(value, key)) slices.Add(Slice(item));
                    break;
            }
        }
        if (method is null) throw new MergeConfigException("merge_method", null, "is required");
        return new MergeConfig(method, baseModel, models, slices, parameters, dtype, outDType, tokenizerSource, seed, lines);
    }

    private static MergeModelEntry ModelEntry(YamlNode node)
    {
        var map = Mapping(node, "models");
        string? model = null;
        IReadOnlyDictionary<string, ParameterSetting> ps = new Dictionary<string, ParameterSetting>();
        foreach (var (k, v) in map.Children)
        {
            string key = Key(k);
            CheckKey(key, k, ["model", "parameters"]);
            if (key == "model") model = Scalar(v, key);
            else ps = Parameters(v);
        }
        return new MergeModelEntry(model ?? throw new MergeConfigException("model", node.Start.Line, "each entry of 'models' needs 'model'"), ps);
    }

    private static MergeSlice Slice(YamlNode node)
    {
        var map = Mapping(node, "slices");
        var sources = new List<MergeSliceSource>();
        string? baseModel = null;
        IReadOnlyDictionary<string, ParameterSetting> ps = new Dictionary<string, ParameterSetting>();
        foreach (var (k, v) in map.Children)
        {
            string key = Key(k);
            CheckKey(key, k, ["sources", "base_model", "parameters"]);
            switch (key)
            {
                case "base_model": baseModel = Scalar(v, key); break;
                case "parameters": ps = Parameters(v); break;
                case "sources": foreach (var s in Sequence(v, key)) sources.Add(Source(s)); break;
            }
        }
        return new MergeSlice(sources, baseModel, ps);
    }

    private static MergeSliceSource Source(YamlNode node)
    {
        var map = Mapping(node, "sources");
        string? model = null;
        int? start = null, end = null;
        IReadOnlyDictionary<string, ParameterSetting> ps = new Dictionary<string, ParameterSetting>();
        foreach (var (k, v) in map.Children)
        {
            string key = Key(k);
            CheckKey(key, k, ["model", "layer_range", "parameters"]);
            switch (key)
            {
                case "model": model = Scalar(v, key); break;
                case "parameters": ps = Parameters(v); break;
                case "layer_range":
                    var range = Sequence(v, key).ToList();
                    if (range.Count != 2 || !int.TryParse(Scalar(range[0], key), NumberStyles.None, CultureInfo.InvariantCulture, out int a)
                        || !int.TryParse(Scalar(range[1], key), NumberStyles.None, CultureInfo.InvariantCulture, out int b))
                        throw new MergeConfigException(key, v.Start.Line, "must be two non-negative integers [start, end]");
                    start = a; end = b;
                    break;
            }
        }
        if (model is null) throw new MergeConfigException("model", node.Start.Line, "each source needs 'model'");
        if (start is null) throw new MergeConfigException("layer_range", node.Start.Line, $"source '{model}' needs 'layer_range'");
        return new MergeSliceSource(model, start.Value, end!.Value, ps);
    }

    private static IReadOnlyDictionary<string, ParameterSetting> Parameters(YamlNode node)
    {
        var result = new Dictionary<string, ParameterSetting>(StringComparer.Ordinal);
        foreach (var (k, v) in Mapping(node, "parameters").Children) result[Key(k)] = Setting(v, Key(k));
        return result;
    }

    private static ParameterSetting Setting(YamlNode node, string key)
    {
        long line = node.Start.Line;
        switch (node)
        {
            case YamlScalarNode s:
                return TryNumber(s, out double d) ? ParameterSetting.Number(d, line) : ParameterSetting.Text(s.Value ?? "", line);
            case YamlSequenceNode seq when seq.Children.Count == 0:
                throw new MergeConfigException(key, line, "an empty list is not a value");
            case YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode):
                var scalars = seq.Children.Cast<YamlScalarNode>().ToList();
                var numbers = new double[scalars.Count];
                bool allNumbers = true;
                for (int i = 0; i < scalars.Count; i++) allNumbers &= TryNumber(scalars[i], out numbers[i]);
                return allNumbers ? ParameterSetting.GradientAt(numbers, line) : ParameterSetting.TextListAt(scalars.Select(x => x.Value ?? "").ToArray(), line);
            case YamlSequenceNode seq when seq.Children.All(c => c is YamlMappingNode):
                var entries = new List<(string?, ParameterSetting)>();
                foreach (YamlMappingNode m in seq.Children)
                {
                    string? filter = null;
                    ParameterSetting? value = null;
                    foreach (var (k, v) in m.Children)
                    {
                        string ck = Key(k);
                        CheckKey(ck, k, ["filter", "value"]);
                        if (ck == "filter") filter = Scalar(v, ck);
                        else value = Setting(v, key);
                    }
                    entries.Add((filter, value ?? throw new MergeConfigException(key, m.Start.Line, "a filtered entry needs 'value'")));
                }
                return ParameterSetting.FilteredAt(entries.ToArray(), line);
            case YamlMappingNode m:
                // mergekit also accepts a single {filter, value} mapping.
                return Setting(new YamlSequenceNode(m), key);
            default:
                throw new MergeConfigException(key, line, "must be a number, a word, a list of numbers or a list of {filter, value}");
        }
    }

    private static bool TryNumber(YamlScalarNode s, out double value)
    {
        value = 0;
        if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted || s.Value is null) return false;
        return double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static DType ParseDType(YamlNode node, string key, bool computeDType)
    {
        string text = Scalar(node, key);
        if (!DTypes.TryParse(text, out var dtype) || !dtype.IsFloatingPoint() || dtype is DType.F8_E4M3 or DType.F8_E5M2)
            throw new MergeConfigException(key, node.Start.Line, $"'{text}' is not one of float32, float16, bfloat16{(computeDType ? "" : ", float64")}");
        if (computeDType && dtype == DType.F64)
            throw new MergeConfigException(key, node.Start.Line, "arithmetic is float32, so dtype float64 cannot be honoured; use out_dtype: float64 to write float64");
        return dtype;
    }

    private static void CheckKey(string key, YamlNode node, string[] allowed)
    {
        if (Unsupported.TryGetValue(key, out string? why)) throw new MergeConfigException(key, node.Start.Line, why);
        if (!allowed.Contains(key))
            throw new MergeConfigException(key, node.Start.Line, $"unknown key; expected one of {string.Join(", ", allowed)}");
    }

    private static string Key(YamlNode node) =>
        node is YamlScalarNode { Value: { } v } ? v : throw new MergeConfigException("yaml", node.Start.Line, "keys must be plain words");

    private static string Scalar(YamlNode node, string key) =>
        node is YamlScalarNode { Value: { } v } ? v : throw new MergeConfigException(key, node.Start.Line, "must be a single value");

    private static YamlMappingNode Mapping(YamlNode node, string key) =>
        node as YamlMappingNode ?? throw new MergeConfigException(key, node.Start.Line, "must be a mapping of keys to values");

    private static IEnumerable<YamlNode> Sequence(YamlNode node, string key) =>
        node is YamlSequenceNode s ? s.Children : throw new MergeConfigException(key, node.Start.Line, "must be a list");
}
