using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WeightSpace.Analysis.Merging.Config;

/// <summary>Reads mergekit's YAML schema through YamlDotNet's node model, so every error can name its key and line.</summary>
internal static class MergeConfigYaml
{
    private static readonly string[] TopKeys = ["models", "slices", "merge_method", "base_model", "parameters", "dtype", "out_dtype", "tokenizer_source", "tokenizer", "random_seed", "chat_template", "name"];
    private static readonly Dictionary<string, string> Unsupported = new()
    {
        ["modules"] = "multi-module configs are not supported; merge each module separately",
        ["residual_weight"] = "residual_weight is not supported (mergekit declares it but never reads it)",
    };

    public static MergeConfig Read(string text, bool strict)
    {
        var stream = Load(text);
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new MergeConfigException("yaml", 1, stream.Documents.Count > 1
                ? $"the file holds {stream.Documents.Count} YAML documents; a multi-document config (mergekit-multi) runs with 'weightspace merge CONFIG OUT'"
                : "the config must be one YAML mapping");
        return Read(root, strict);
    }

    public static IReadOnlyList<MergeConfig> ReadAll(string text, bool strict)
    {
        var stream = Load(text);
        var configs = new List<MergeConfig>();
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is not YamlMappingNode root) throw new MergeConfigException("yaml", doc.RootNode.Start.Line, "every document must be a YAML mapping");
            var config = Read(root, strict);
            if (configs.Any(c => c.Name == config.Name))
                throw new MergeConfigException("name", root.Start.Line, config.Name is null
                    ? "more than one document has no 'name'; only the final merge may be unnamed"
                    : $"two documents are named '{config.Name}'");
            configs.Add(config);
        }
        if (configs.Count == 0) throw new MergeConfigException("yaml", 1, "the file holds no YAML document");
        return configs;
    }

    private static YamlStream Load(string text)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new MergeConfigException("yaml", e.Start.Line, e.Message); }
        return stream;
    }

    private static MergeConfig Read(YamlMappingNode root, bool strict)
    {
        var lines = new Dictionary<string, long>(StringComparer.Ordinal);
        string? method = null, baseModel = null, tokenizerSource = null, chatTemplate = null, name = null;
        TokenizerSettings? tokenizer = null;
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
                case "chat_template": chatTemplate = Scalar(value, key); break;
                case "name": name = Scalar(value, key); break;
                case "tokenizer": tokenizer = Tokenizer(value); break;
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
        if (method is null) throw new MergeConfigException("merge_method", root.Start.Line, "is required");
        if (tokenizer is not null && tokenizerSource is not null)
            throw new MergeConfigException("tokenizer", lines["tokenizer"], "give either 'tokenizer_source' or a 'tokenizer' block, not both (mergekit refuses both)");
        if (tokenizerSource is not null) tokenizer = new TokenizerSettings(tokenizerSource, new Dictionary<string, TokenEmbeddingSetting>(), null);
        return new MergeConfig(method, baseModel, models, slices, parameters, dtype, outDType, tokenizer, seed, lines, chatTemplate, name, strict);
    }

    // mergekit's TokenizerConfig: source (default union), tokens: {TOKEN: {source, force}}, pad_to_multiple_of.
    private static TokenizerSettings Tokenizer(YamlNode node)
    {
        string source = "union";
        int? pad = null;
        var tokens = new Dictionary<string, TokenEmbeddingSetting>(StringComparer.Ordinal);
        foreach (var (k, v) in Mapping(node, "tokenizer").Children)
        {
            string key = Key(k);
            CheckKey(key, k, ["source", "tokens", "pad_to_multiple_of"]);
            switch (key)
            {
                case "source": source = Scalar(v, key); break;
                case "pad_to_multiple_of":
                    if (!int.TryParse(Scalar(v, key), NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p < 1)
                        throw new MergeConfigException(key, v.Start.Line, "must be a positive integer");
                    pad = p;
                    break;
                case "tokens":
                    foreach (var (tk, tv) in Mapping(v, key).Children) tokens[Key(tk)] = TokenSetting(tv, Key(tk));
                    break;
            }
        }
        return new TokenizerSettings(source, tokens, pad);
    }

    private static TokenEmbeddingSetting TokenSetting(YamlNode node, string token)
    {
        var setting = new TokenEmbeddingSetting(TokenSourceKind.Default, null, null, null, false);
        foreach (var (k, v) in Mapping(node, $"tokens.{token}").Children)
        {
            string key = Key(k);
            CheckKey(key, k, ["source", "force"]);
            if (key == "force")
            {
                string f = Scalar(v, key);
                setting = setting with { Force = f.Equals("true", StringComparison.OrdinalIgnoreCase) || (f.Equals("false", StringComparison.OrdinalIgnoreCase) ? false
                    : throw new MergeConfigException("force", v.Start.Line, $"token '{token}': '{f}' is not true or false")) };
                continue;
            }
            if (v is YamlScalarNode { Value: { } model }) { setting = setting with { Kind = TokenSourceKind.Model, Model = model }; continue; }
            string? kind = null, srcModel = null, srcToken = null;
            int? id = null;
            foreach (var (sk, sv) in Mapping(v, "source").Children)
            {
                string skey = Key(sk);
                CheckKey(skey, sk, ["kind", "model", "token", "token_id"]);
                string value = Scalar(sv, skey);
                switch (skey)
                {
                    case "kind": kind = value; break;
                    case "model": srcModel = value; break;
                    case "token": srcToken = value; break;
                    case "token_id":
                        id = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
                            : throw new MergeConfigException(skey, sv.Start.Line, $"token '{token}': must be a non-negative integer");
                        break;
                }
            }
            setting = kind switch
            {
                "zero" => setting with { Kind = TokenSourceKind.Zero },
                "model_token" when srcModel is null => throw new MergeConfigException("model", v.Start.Line, $"token '{token}': a model_token source needs 'model'"),
                "model_token" when (srcToken is null) == (id is null) => throw new MergeConfigException("token", v.Start.Line, $"token '{token}': give exactly one of 'token' or 'token_id'"),
                "model_token" => setting with { Kind = TokenSourceKind.ModelToken, Model = srcModel, Token = srcToken, TokenId = id },
                _ => throw new MergeConfigException("kind", v.Start.Line, $"token '{token}': kind must be 'zero' or 'model_token', got '{kind}'"),
            };
        }
        return setting;
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
