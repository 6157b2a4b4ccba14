namespace WeightSpace.Formats.Peft;

/// <summary>A parsed, validated PEFT LoRA <c>adapter_config.json</c>, with PEFT's rules for which modules it targets
/// and which rank, α and scale each one gets.</summary>
/// <remarks>
/// Matching follows PEFT (<c>peft.tuners.tuners_utils.check_target_module_exists</c>, <c>peft.utils.other.get_pattern_key</c>):
/// a string <c>target_modules</c> is a regex that must match the whole module name; a list matches a name equal to an
/// entry or ending in <c>.entry</c>; <c>layers_to_transform</c> then keeps only the listed layer indices. A
/// <c>rank_pattern</c>/<c>alpha_pattern</c> key applies to a module whose name equals it, else to the first key (in file
/// order) that matches the end of the name after a dot, as the regex <c>(^|.*\.)KEY$</c>. Scale is α/r, or α/√r with
/// <c>use_rslora</c> (Kalajdzievski 2023, <see href="https://arxiv.org/abs/2312.03732"/>).
/// </remarks>
public sealed class PeftAdapterConfig
{
    private readonly Regex? _targetRegex;
    private readonly (string Key, Regex Regex, int Rank)[] _rankPattern;
    private readonly (string Key, Regex Regex, double Alpha)[] _alphaPattern;
    private readonly Regex[] _layerRegexes;

    private PeftAdapterConfig(string source, int rank, double alpha, bool useRsLora, bool useDora, bool fanInFanOut, PeftBias bias,
        IReadOnlyList<string>? targetList, string? targetRegex, IReadOnlyList<string> modulesToSave,
        IReadOnlyList<KeyValuePair<string, int>> rankPattern, IReadOnlyList<KeyValuePair<string, double>> alphaPattern,
        IReadOnlyList<int>? layersToTransform, IReadOnlyList<string> layersPattern, PeftOptions options)
    {
        Source = source;
        Rank = rank;
        Alpha = alpha;
        UseRsLora = useRsLora;
        UseDora = useDora;
        FanInFanOut = fanInFanOut;
        Bias = bias;
        TargetModules = targetList;
        TargetModulesRegex = targetRegex;
        ModulesToSave = modulesToSave;
        RankPattern = rankPattern;
        AlphaPattern = alphaPattern;
        LayersToTransform = layersToTransform;
        LayersPattern = layersPattern;
        Timeout = options.RegexTimeout;
        _targetRegex = targetRegex is null ? null : Compile(source, "target_modules", $@"\A(?:{targetRegex})\z");
        _rankPattern = rankPattern.Select(p => (p.Key, Compile(source, $"rank_pattern '{p.Key}'", PatternRegex(p.Key)), p.Value)).ToArray();
        _alphaPattern = alphaPattern.Select(p => (p.Key, Compile(source, $"alpha_pattern '{p.Key}'", PatternRegex(p.Key)), p.Value)).ToArray();
        _layerRegexes = layersPattern.Count == 0
            ? [Compile(source, "layers_pattern", @"\A.*\.[^.]*\.(\d+)\.")]
            : layersPattern.Select(p => Compile(source, "layers_pattern", $@"\A.*\.(?:{p})\.(\d+)\.")).ToArray();
    }

    /// <summary>Where the config was read from (for messages).</summary>
    public string Source { get; }
    /// <summary><c>r</c>: the default rank.</summary>
    public int Rank { get; }
    /// <summary><c>lora_alpha</c>: the default α.</summary>
    public double Alpha { get; }
    /// <summary><c>use_rslora</c>: scale α/√r instead of α/r.</summary>
    public bool UseRsLora { get; }
    /// <summary><c>use_dora</c>: weight-decomposed LoRA (Liu et al. 2024), with a per-output magnitude vector.</summary>
    public bool UseDora { get; }
    /// <summary><c>fan_in_fan_out</c>: the base stores weights as [in, out] (GPT-2 <c>Conv1D</c>).</summary>
    public bool FanInFanOut { get; }
    /// <summary><c>bias</c>.</summary>
    public PeftBias Bias { get; }
    /// <summary><c>target_modules</c> when it is a list; null when it is a regex or absent.</summary>
    public IReadOnlyList<string>? TargetModules { get; }
    /// <summary><c>target_modules</c> when it is a string (a regex matched against whole module names).</summary>
    public string? TargetModulesRegex { get; }
    /// <summary><c>modules_to_save</c>: modules saved in full with the adapter (empty if none).</summary>
    public IReadOnlyList<string> ModulesToSave { get; }
    /// <summary><c>rank_pattern</c> in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> RankPattern { get; }
    /// <summary><c>alpha_pattern</c> in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> AlphaPattern { get; }
    /// <summary><c>layers_to_transform</c>; null means every layer.</summary>
    public IReadOnlyList<int>? LayersToTransform { get; }
    /// <summary><c>layers_pattern</c> (empty if absent).</summary>
    public IReadOnlyList<string> LayersPattern { get; }
    private TimeSpan Timeout { get; }

    /// <summary>True when PEFT would wrap module <paramref name="moduleName"/> (a name in the base model, without
    /// <c>base_model.model.</c>) with LoRA layers. Null <c>target_modules</c> targets nothing by name.</summary>
    /// <exception cref="InvalidAdapterException">A config regex took longer than <see cref="PeftOptions.RegexTimeout"/>.</exception>
    public bool IsTargeted(string moduleName)
    {
        bool found;
        if (_targetRegex is not null) found = Match(_targetRegex, moduleName, "target_modules").Success;
        else if (TargetModules is not null) found = TargetModules.Any(t => moduleName == t || moduleName.EndsWith("." + t, StringComparison.Ordinal));
        else return false;
        if (!found || LayersToTransform is null) return found;
        foreach (var regex in _layerRegexes)
        {
            var m = Match(regex, moduleName, "layers_pattern");
            if (m.Success)
                return int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int layer) && LayersToTransform.Contains(layer);
        }
        return false;
    }

    /// <summary>The rank PEFT gives <paramref name="moduleName"/>: its <c>rank_pattern</c> entry, else <see cref="Rank"/>.</summary>
    public int RankOf(string moduleName) => Lookup(_rankPattern.Select(p => (p.Key, p.Regex, p.Rank)).ToArray(), moduleName, "rank_pattern") ?? Rank;

    /// <summary>The α PEFT gives <paramref name="moduleName"/>: its <c>alpha_pattern</c> entry, else <see cref="Alpha"/>.</summary>
    public double AlphaOf(string moduleName) => Lookup(_alphaPattern.Select(p => (p.Key, p.Regex, p.Alpha)).ToArray(), moduleName, "alpha_pattern") ?? Alpha;

    /// <summary>The scale s of ΔW = s·B·A for <paramref name="moduleName"/>: α/r, or α/√r with <c>use_rslora</c>.</summary>
    public double ScaleOf(string moduleName)
    {
        int r = RankOf(moduleName);
        double alpha = AlphaOf(moduleName);
        return UseRsLora ? alpha / Math.Sqrt(r) : alpha / r;
    }

    private T? Lookup<T>((string Key, Regex Regex, T Value)[] pattern, string moduleName, string what) where T : struct
    {
        foreach (var p in pattern)
            if (p.Key == moduleName) return p.Value;
        foreach (var p in pattern)
            if (Match(p.Regex, moduleName, what).Success) return p.Value;
        return null;
    }

    private Match Match(Regex regex, string input, string what)
    {
        try { return regex.Match(input); }
        catch (RegexMatchTimeoutException e)
        {
            throw new InvalidAdapterException(Source, what, $"pattern took longer than {Timeout.TotalSeconds:0.###} s on '{input}'", e);
        }
    }

    private static string PatternRegex(string key) => $@"\A(?:.*\.)?(?:{key})\z";

    private Regex Compile(string source, string what, string pattern)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant, Timeout); }
        catch (ArgumentException e)
        {
            throw new InvalidAdapterException(source, what, $"not a regular expression: {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>Reads and validates <c>adapter_config.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; <see cref="PeftOptions.Default"/> if null.</param>
    /// <exception cref="InvalidAdapterException">The file is too large, not JSON, not a LoRA config, or a value is out of range.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static PeftAdapterConfig Read(string path, PeftOptions? options = null)
    {
        options ??= PeftOptions.Default;
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        if (info.Length > options.MaxConfigBytes)
            throw new InvalidAdapterException(path, null, $"{info.Length} bytes; at most {options.MaxConfigBytes} accepted for an adapter config");
        return Parse(File.ReadAllBytes(path), path, options);
    }

    /// <summary>Parses and validates the bytes of an <c>adapter_config.json</c>.</summary>
    /// <param name="json">UTF-8 JSON.</param>
    /// <param name="source">Named in error messages.</param>
    /// <param name="options">Limits; <see cref="PeftOptions.Default"/> if null.</param>
    /// <exception cref="InvalidAdapterException">Not JSON, not an object, <c>peft_type</c> is not LORA, or a key has the wrong type or range.</exception>
    public static PeftAdapterConfig Parse(ReadOnlySpan<byte> json, string source, PeftOptions? options = null)
    {
        options ??= PeftOptions.Default;
        if (json.Length > options.MaxConfigBytes)
            throw new InvalidAdapterException(source, null, $"{json.Length} bytes; at most {options.MaxConfigBytes} accepted for an adapter config");
        // JsonDocument defers UTF-8 validation of strings to GetString, which would throw a non-typed error later.
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new InvalidAdapterException(source, null, "not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new InvalidAdapterException(source, null, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidAdapterException(source, null, $"the config is a JSON {root.ValueKind}, not an object");
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
                if (!keys.Add(p.Name)) throw new InvalidAdapterException(source, $"key '{p.Name}'", "appears twice");

            string peftType = root.TryGetProperty("peft_type", out var pt) && pt.ValueKind == JsonValueKind.String ? pt.GetString()! : "";
            if (peftType != "LORA")
                throw new InvalidAdapterException(source, "key 'peft_type'",
                    pt.ValueKind == JsonValueKind.Undefined ? "missing (expected \"LORA\")" : $"{pt.GetRawText()} is not supported (only \"LORA\" adapters are read)");

            int entries = 0;
            int rank = RankValue(source, "r", Required(source, root, "r"), options);
            double alpha = root.TryGetProperty("lora_alpha", out var a) && a.ValueKind != JsonValueKind.Null ? Finite(source, "lora_alpha", a) : 8;
            bool rs = Bool(source, root, "use_rslora");
            bool dora = Bool(source, root, "use_dora");
            bool fifo = Bool(source, root, "fan_in_fan_out");
            var bias = (root.TryGetProperty("bias", out var b) && b.ValueKind != JsonValueKind.Null ? Text(source, "bias", b) : "none") switch
            {
                "none" => PeftBias.None,
                "all" => PeftBias.All,
                "lora_only" => PeftBias.LoraOnly,
                var other => throw new InvalidAdapterException(source, "key 'bias'", $"'{other}' is not one of none, all, lora_only"),
            };
            IReadOnlyList<string>? targetList = null;
            string? targetRegex = null;
            if (root.TryGetProperty("target_modules", out var tm))
            {
                if (tm.ValueKind == JsonValueKind.String) targetRegex = tm.GetString();
                else if (tm.ValueKind == JsonValueKind.Array) targetList = Strings(source, "target_modules", tm, ref entries, options);
                else if (tm.ValueKind != JsonValueKind.Null) throw new InvalidAdapterException(source, "key 'target_modules'", $"is a JSON {tm.ValueKind}, not a list or a regex string");
            }
            IReadOnlyList<string> toSave = root.TryGetProperty("modules_to_save", out var ms) && ms.ValueKind != JsonValueKind.Null
                ? Strings(source, "modules_to_save", ms, ref entries, options) : [];
            var rankPattern = new List<KeyValuePair<string, int>>();
            foreach (var (key, value) in Pattern(source, root, "rank_pattern", ref entries, options))
                rankPattern.Add(new(key, RankValue(source, $"rank_pattern '{key}'", value, options)));
            var alphaPattern = new List<KeyValuePair<string, double>>();
            foreach (var (key, value) in Pattern(source, root, "alpha_pattern", ref entries, options))
                alphaPattern.Add(new(key, Finite(source, $"alpha_pattern '{key}'", value)));
            IReadOnlyList<int>? layers = null;
            if (root.TryGetProperty("layers_to_transform", out var lt) && lt.ValueKind != JsonValueKind.Null)
            {
                if (lt.ValueKind == JsonValueKind.Number) layers = [Index(source, lt)];
                else if (lt.ValueKind == JsonValueKind.Array)
                {
                    var list = new List<int>();
                    foreach (var e in lt.EnumerateArray())
                    {
                        if (++entries > options.MaxPatternEntries) TooMany(source, options);
                        list.Add(Index(source, e));
                    }
                    layers = list;
                }
                else throw new InvalidAdapterException(source, "key 'layers_to_transform'", $"is a JSON {lt.ValueKind}, not an integer or a list");
            }
            IReadOnlyList<string> layersPattern = [];
            if (root.TryGetProperty("layers_pattern", out var lp) && lp.ValueKind != JsonValueKind.Null)
                layersPattern = lp.ValueKind == JsonValueKind.String ? [lp.GetString()!] : Strings(source, "layers_pattern", lp, ref entries, options);
            return new PeftAdapterConfig(source, rank, alpha, rs, dora, fifo, bias, targetList, targetRegex, toSave, rankPattern, alphaPattern,
                layers, layersPattern, options);
        }
    }

    private static JsonElement Required(string source, JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : throw new InvalidAdapterException(source, $"key '{key}'", "missing");

    private static int RankValue(string source, string what, JsonElement value, PeftOptions options)
    {
        string subject = what.Contains('\'') ? what : $"key '{what}'";
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || d != Math.Floor(d))
            throw new InvalidAdapterException(source, subject, $"{Shorten(value.GetRawText())} is not an integer rank");
        if (d < 1 || d > options.MaxRank)
            throw new InvalidAdapterException(source, subject, $"rank {Shorten(value.GetRawText())} is outside 1..{options.MaxRank}");
        return (int)d;
    }

    private static double Finite(string source, string what, JsonElement value)
    {
        string subject = what.Contains('\'') ? what : $"key '{what}'";
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || !double.IsFinite(d))
            throw new InvalidAdapterException(source, subject, $"{Shorten(value.GetRawText())} is not a finite number");
        return d;
    }

    private static int Index(string source, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int i) || i < 0)
            throw new InvalidAdapterException(source, "key 'layers_to_transform'", $"{Shorten(value.GetRawText())} is not a layer index");
        return i;
    }

    private static bool Bool(string source, JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return false;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidAdapterException(source, $"key '{key}'", $"{Shorten(v.GetRawText())} is not true or false"),
        };
    }

    private static string Text(string source, string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new InvalidAdapterException(source, $"key '{key}'", $"{Shorten(v.GetRawText())} is not a string");

    private static List<string> Strings(string source, string key, JsonElement array, ref int entries, PeftOptions options)
    {
        if (array.ValueKind != JsonValueKind.Array) throw new InvalidAdapterException(source, $"key '{key}'", $"is a JSON {array.ValueKind}, not a list of strings");
        var list = new List<string>();
        foreach (var e in array.EnumerateArray())
        {
            if (++entries > options.MaxPatternEntries) TooMany(source, options);
            string s = Text(source, key, e);
            if (s.Length == 0) throw new InvalidAdapterException(source, $"key '{key}'", "holds an empty name");
            list.Add(s);
        }
        return list;
    }

    private static List<(string, JsonElement)> Pattern(string source, JsonElement root, string key, ref int entries, PeftOptions options)
    {
        var list = new List<(string, JsonElement)>();
        if (!root.TryGetProperty(key, out var obj) || obj.ValueKind == JsonValueKind.Null) return list;
        if (obj.ValueKind != JsonValueKind.Object) throw new InvalidAdapterException(source, $"key '{key}'", $"is a JSON {obj.ValueKind}, not an object");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (++entries > options.MaxPatternEntries) TooMany(source, options);
            if (p.Name.Length == 0) throw new InvalidAdapterException(source, $"key '{key}'", "holds an empty pattern");
            if (!seen.Add(p.Name)) throw new InvalidAdapterException(source, $"{key} '{p.Name}'", "appears twice");
            list.Add((p.Name, p.Value));
        }
        return list;
    }

    private static void TooMany(string source, PeftOptions options) =>
        throw new InvalidAdapterException(source, null, $"more than {options.MaxPatternEntries} module names and patterns");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>Writes a PEFT LoRA config (the keys PEFT 0.13 writes, <c>peft_type</c> LORA) as indented UTF-8 JSON.</summary>
    /// <param name="rank">Default <c>r</c>.</param>
    /// <param name="alpha">Default <c>lora_alpha</c>.</param>
    /// <param name="targetModules">Module names (written sorted, as PEFT does for a set).</param>
    /// <param name="rankPattern">Full module names whose rank differs from <paramref name="rank"/>.</param>
    /// <param name="alphaPattern">Full module names whose α differs from <paramref name="alpha"/>.</param>
    /// <param name="modulesToSave">Modules stored in full; null if none.</param>
    /// <param name="bias"><c>bias</c>.</param>
    /// <param name="baseModel"><c>base_model_name_or_path</c>.</param>
    /// <param name="fanInFanOut"><c>fan_in_fan_out</c>.</param>
    public static byte[] Serialize(int rank, double alpha, IEnumerable<string> targetModules, IReadOnlyDictionary<string, int> rankPattern,
        IReadOnlyDictionary<string, double> alphaPattern, IReadOnlyList<string>? modulesToSave, PeftBias bias, string? baseModel, bool fanInFanOut = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("alpha_pattern");
            foreach (var (k, v) in alphaPattern.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteNull("auto_mapping");
            if (baseModel is null) w.WriteNull("base_model_name_or_path"); else w.WriteString("base_model_name_or_path", baseModel);
            w.WriteString("bias", bias switch { PeftBias.All => "all", PeftBias.LoraOnly => "lora_only", _ => "none" });
            w.WriteBoolean("fan_in_fan_out", fanInFanOut);
            w.WriteBoolean("inference_mode", true);
            w.WriteBoolean("init_lora_weights", true);
            w.WriteNull("layers_pattern");
            w.WriteNull("layers_to_transform");
            w.WriteNumber("lora_alpha", alpha);
            w.WriteNumber("lora_dropout", 0.0);
            if (modulesToSave is { Count: > 0 })
            {
                w.WriteStartArray("modules_to_save");
                foreach (var m in modulesToSave) w.WriteStringValue(m);
                w.WriteEndArray();
            }
            else w.WriteNull("modules_to_save");
            w.WriteString("peft_type", "LORA");
            w.WriteNumber("r", rank);
            w.WriteStartObject("rank_pattern");
            foreach (var (k, v) in rankPattern.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteNull("revision");
            w.WriteStartArray("target_modules");
            foreach (var t in targetModules.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteString("task_type", "CAUSAL_LM");
            w.WriteBoolean("use_dora", false);
            w.WriteBoolean("use_rslora", false);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }
}
