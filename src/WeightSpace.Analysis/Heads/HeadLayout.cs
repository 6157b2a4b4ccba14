namespace WeightSpace.Analysis.Heads;

/// <summary>How the attention projections of a transformer split into heads: <c>num_attention_heads</c>,
/// <c>num_key_value_heads</c> (grouped-query attention when fewer) and <c>head_dim</c>.</summary>
/// <param name="HeadCount">Query heads per layer.</param>
/// <param name="KeyValueHeadCount">Key/value heads per layer; divides <paramref name="HeadCount"/>. Query head h reads
/// key/value head h / (HeadCount / KeyValueHeadCount), as Hugging Face's <c>repeat_kv</c> does.</param>
/// <param name="HeadDim">Width of one head.</param>
public sealed record HeadLayout(int HeadCount, int KeyValueHeadCount, int HeadDim)
{
    /// <summary>Query heads sharing one key/value head.</summary>
    public int GroupSize => HeadCount / KeyValueHeadCount;

    /// <summary>The key/value head query head <paramref name="head"/> attends with.</summary>
    public int KeyValueHeadOf(int head) => head / GroupSize;

    /// <summary>Checks the counts; <paramref name="source"/> names where they came from in the error.</summary>
    /// <exception cref="InvalidHeadLayoutException">A count is not positive or the KV heads do not divide the heads.</exception>
    public HeadLayout Validate(string source)
    {
        if (HeadCount < 1 || HeadCount > 65536) throw new InvalidHeadLayoutException(source, $"num_attention_heads {HeadCount} must be between 1 and 65536");
        if (KeyValueHeadCount < 1 || KeyValueHeadCount > HeadCount)
            throw new InvalidHeadLayoutException(source, $"num_key_value_heads {KeyValueHeadCount} must be between 1 and num_attention_heads {HeadCount}");
        if (HeadCount % KeyValueHeadCount != 0)
            throw new InvalidHeadLayoutException(source, $"num_key_value_heads {KeyValueHeadCount} does not divide num_attention_heads {HeadCount}");
        if (HeadDim < 1 || HeadDim > 65536) throw new InvalidHeadLayoutException(source, $"head_dim {HeadDim} must be between 1 and 65536");
        return this;
    }

    /// <summary>The layout of the model at <paramref name="modelPath"/>: from the <c>config.json</c> beside it (Hugging
    /// Face keys <c>num_attention_heads</c>/<c>n_head</c>, <c>num_key_value_heads</c>, <c>head_dim</c>,
    /// <c>hidden_size</c>/<c>n_embd</c>), else from GGUF metadata (<c>ARCH.attention.head_count</c>,
    /// <c>head_count_kv</c>, <c>key_length</c>); <paramref name="headCount"/> and <paramref name="keyValueHeadCount"/>
    /// override both. head_dim defaults to hidden / heads (or, with no hidden size, q rows / heads, set later).</summary>
    /// <param name="modelPath">The model file or folder.</param>
    /// <param name="metadata">The opened store's metadata (GGUF keys), or empty.</param>
    /// <param name="headCount">Explicit <c>--heads</c>, or null.</param>
    /// <param name="keyValueHeadCount">Explicit <c>--kv-heads</c>, or null.</param>
    /// <returns>The layout with <see cref="HeadDim"/> 0 when it must come from the q_proj shape, or null when nothing
    /// names the head count.</returns>
    /// <exception cref="InvalidHeadLayoutException">config.json is malformed or its counts are inconsistent.</exception>
    public static HeadLayout? Discover(string modelPath, IReadOnlyDictionary<string, string> metadata, int? headCount = null, int? keyValueHeadCount = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(metadata);
        int? heads = null, kv = null, headDim = null, hidden = null;
        string folder = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".";
        string config = Path.Combine(folder, "config.json");
        string source = config;
        if (File.Exists(config)) (heads, kv, headDim, hidden) = ReadConfig(config);
        if (heads is null && metadata.TryGetValue("general.architecture", out string? arch))
        {
            source = modelPath + " (GGUF metadata)";
            heads = Meta(metadata, $"{arch}.attention.head_count");
            kv = Meta(metadata, $"{arch}.attention.head_count_kv");
            headDim = Meta(metadata, $"{arch}.attention.key_length");
            hidden = Meta(metadata, $"{arch}.embedding_length");
        }
        if (headCount is not null) { heads = headCount; source = "--heads"; }
        if (keyValueHeadCount is not null) kv = keyValueHeadCount;
        if (heads is null) return null;
        int h = heads.Value;
        int d = headDim ?? (hidden is int hs && h > 0 && hs % h == 0 ? hs / h : 0);
        var layout = new HeadLayout(h, kv ?? h, d == 0 ? 1 : d).Validate(source);
        return layout with { HeadDim = d };
    }

    private static (int? Heads, int? Kv, int? HeadDim, int? Hidden) ReadConfig(string path)
    {
        var info = new FileInfo(path);
        if (info.Length > 1 << 20) throw new InvalidHeadLayoutException(path, $"has {info.Length} bytes, more than the 1 MiB a config.json may have");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 16 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidHeadLayoutException(path, "is not a JSON object");
            // Multimodal configs keep the language model under text_config.
            if (root.TryGetProperty("text_config", out var text) && text.ValueKind == JsonValueKind.Object) root = text;
            return (Int(root, path, "num_attention_heads", "n_head"), Int(root, path, "num_key_value_heads", null),
                Int(root, path, "head_dim", null), Int(root, path, "hidden_size", "n_embd"));
        }
        catch (JsonException e) { throw new InvalidHeadLayoutException(path, $"is not valid JSON: {e.Message}"); }
    }

    private static int? Int(JsonElement root, string path, string key, string? alias)
    {
        if (!root.TryGetProperty(key, out var v) && (alias is null || !root.TryGetProperty(alias, out v))) return null;
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 1)
            throw new InvalidHeadLayoutException(path, $"'{key}' is {Truncate(v.GetRawText())}, not a positive integer");
        return n;
    }

    private static int? Meta(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out string? text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : null;

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
