namespace WeightSpace.Formats.Gguf;

/// <summary>The config.json values convert_hf_to_gguf.py turns into <c>llama.*</c> metadata, range-checked.</summary>
internal sealed record LlamaHyperparameters
{
    public required string ConfigPath { get; init; }
    public required int BlockCount { get; init; }
    public int? ContextLength { get; init; }
    public required int EmbeddingLength { get; init; }
    public required int FeedForwardLength { get; init; }
    public required int HeadCount { get; init; }
    public required int HeadCountKv { get; init; }
    public int? ExplicitHeadDim { get; init; }
    public int HeadDim => ExplicitHeadDim ?? EmbeddingLength / HeadCount;
    public double? RopeTheta { get; init; }
    public double? RmsNormEps { get; init; }
    public int? VocabSize { get; init; }
    public double? LinearRopeFactor { get; init; }

    public static LlamaHyperparameters Read(string configPath)
    {
        using var doc = GgufHfImport.ReadJson(configPath, GgufHfImport.MaxConfigBytes);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Bad(configPath, null, "is not a JSON object");
        string? modelType = root.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
        bool llamaArchitecture = root.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array
            && archs.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.GetString() == "LlamaForCausalLM");
        if (modelType != "llama" && !llamaArchitecture)
            throw new UnsupportedFormatException(configPath, $"model_type '{modelType ?? "(absent)"}' is not written as GGUF by WeightSpace (LlamaForCausalLM / model_type llama is)");

        int Int(string key, bool required, int min = 1)
        {
            if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
                return required ? throw Bad(configPath, key, "is required") : -1;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n))
                throw Bad(configPath, key, $"{Truncate(v.GetRawText())} is not an integer");
            if (n < min || n > int.MaxValue) throw Bad(configPath, key, $"{n} is out of range [{min}, {int.MaxValue}]");
            return (int)n;
        }
        double? Double(string key, double min, double max)
        {
            if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.Number) throw Bad(configPath, key, $"{Truncate(v.GetRawText())} is not a number");
            double d = v.GetDouble();
            if (!(d > min && d <= max)) throw Bad(configPath, key, $"{d.ToString("R", CultureInfo.InvariantCulture)} is out of range ({min}, {max}]");
            return d;
        }

        int hidden = Int("hidden_size", true), heads = Int("num_attention_heads", true);
        int kv = Int("num_key_value_heads", false);
        if (kv < 0) kv = heads;
        if (heads % kv != 0) throw Bad(configPath, "num_key_value_heads", $"{kv} does not divide num_attention_heads {heads}");
        int headDim = Int("head_dim", false, min: 2);
        if (headDim < 0 && hidden % heads != 0) throw Bad(configPath, "hidden_size", $"{hidden} is not a multiple of num_attention_heads {heads} and there is no head_dim");
        int rotary = headDim > 0 ? headDim : hidden / heads;
        if (rotary % 2 != 0) throw Bad(configPath, "head_dim", $"{rotary} is odd; the rotary permutation pairs rows");
        int context = Int("max_position_embeddings", false);
        int vocab = Int("vocab_size", false);
        return new LlamaHyperparameters
        {
            ConfigPath = configPath,
            BlockCount = Int("num_hidden_layers", true),
            ContextLength = context > 0 ? context : null,
            EmbeddingLength = hidden,
            FeedForwardLength = Int("intermediate_size", true),
            HeadCount = heads,
            HeadCountKv = kv,
            ExplicitHeadDim = headDim > 0 ? headDim : null,
            RopeTheta = Double("rope_theta", 0, 1e15),
            RmsNormEps = Double("rms_norm_eps", 0, 1),
            VocabSize = vocab > 0 ? vocab : null,
            LinearRopeFactor = RopeFactor(root, configPath),
        };
    }

    // LlamaModel writes rope.scaling.type/factor for linear scaling. llama3 scaling becomes a rope_freqs tensor there
    // and yarn/dynamic keys come from other model classes: refused rather than silently dropped.
    private static double? RopeFactor(JsonElement root, string path)
    {
        if (!root.TryGetProperty("rope_scaling", out var s) || s.ValueKind == JsonValueKind.Null) return null;
        if (s.ValueKind != JsonValueKind.Object) throw Bad(path, "rope_scaling", $"{Truncate(s.GetRawText())} is not an object or null");
        string? type = (s.TryGetProperty("rope_type", out var t) || s.TryGetProperty("type", out t)) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type is null or "default") return null;
        if (type != "linear")
            throw new UnsupportedFormatException(path, $"rope_scaling type '{Truncate(type)}' is not written as GGUF by WeightSpace (linear is)");
        if (!s.TryGetProperty("factor", out var f) || f.ValueKind != JsonValueKind.Number || !(f.GetDouble() >= 1 && f.GetDouble() <= 1e6))
            throw Bad(path, "rope_scaling.factor", "must be a number in [1, 1e6] for linear scaling");
        return f.GetDouble();
    }

    /// <summary>The <c>llama.*</c> keys (and <c>general.file_type</c>) in convert_hf_to_gguf.py's order and types.</summary>
    public IEnumerable<KeyValuePair<string, GgufValue>> Metadata(uint fileType)
    {
        static KeyValuePair<string, GgufValue> U32(string key, int v) => new(key, new GgufValue(GgufValueType.UInt32, (uint)v));
        static KeyValuePair<string, GgufValue> F32(string key, double v) => new(key, new GgufValue(GgufValueType.Float32, (float)v));
        yield return U32("llama.block_count", BlockCount);
        if (ContextLength is int c) yield return U32("llama.context_length", c);
        yield return U32("llama.embedding_length", EmbeddingLength);
        yield return U32("llama.feed_forward_length", FeedForwardLength);
        yield return U32("llama.attention.head_count", HeadCount);
        yield return U32("llama.attention.head_count_kv", HeadCountKv);
        if (RopeTheta is double theta) yield return F32("llama.rope.freq_base", theta);
        if (RmsNormEps is double eps) yield return F32("llama.attention.layer_norm_rms_epsilon", eps);
        if (ExplicitHeadDim is int hd)
        {
            yield return U32("llama.attention.key_length", hd);
            yield return U32("llama.attention.value_length", hd);
        }
        yield return new("general.file_type", new GgufValue(GgufValueType.UInt32, fileType));
        if (VocabSize is int v) yield return U32("llama.vocab_size", v);
        yield return U32("llama.rope.dimension_count", HeadDim);
        if (LinearRopeFactor is double factor)
        {
            yield return new("llama.rope.scaling.type", new GgufValue(GgufValueType.String, "linear"));
            yield return F32("llama.rope.scaling.factor", factor);
        }
    }

    private static InvalidCheckpointException Bad(string path, string? key, string detail) =>
        new(path, null, key is null ? detail : $"key '{key}': {detail}");

    internal static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
