namespace WeightSpace.Analysis.Language;

/// <summary>The architecture of a Llama-family causal language model, read from a Hugging Face <c>config.json</c>.</summary>
/// <remarks>
/// Keys and defaults are Hugging Face's (<c>LlamaConfig</c>, <c>MistralConfig</c>, <c>Qwen2Config</c>, <c>GemmaConfig</c>),
/// except that the dimensions (<c>hidden_size</c>, <c>intermediate_size</c>, <c>num_hidden_layers</c>,
/// <c>num_attention_heads</c>, <c>vocab_size</c>) are required: a default of 4096 would only turn a broken config into a
/// confusing shape error. Every number is range-checked, so the shapes derived from it cannot overflow.
/// </remarks>
public sealed record LlamaConfig
{
    /// <summary>Largest config.json accepted, in bytes.</summary>
    public const long MaxFileBytes = 1 << 20;

    /// <summary>The <c>model_type</c> values accepted.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["llama", "mistral", "qwen2", "gemma"];

    private const int MaxDimension = 1 << 20;

    /// <summary>Which variant of the architecture.</summary>
    public LanguageModelFamily Family { get; init; }
    /// <summary><c>model_type</c> as written.</summary>
    public string ModelType { get; init; } = "llama";
    /// <summary><c>hidden_size</c>.</summary>
    public int HiddenSize { get; init; }
    /// <summary><c>intermediate_size</c> of the MLP.</summary>
    public int IntermediateSize { get; init; }
    /// <summary><c>num_hidden_layers</c>.</summary>
    public int LayerCount { get; init; }
    /// <summary><c>num_attention_heads</c>.</summary>
    public int HeadCount { get; init; }
    /// <summary><c>num_key_value_heads</c> (grouped-query attention when smaller than <see cref="HeadCount"/>).</summary>
    public int KeyValueHeadCount { get; init; }
    /// <summary><c>head_dim</c>; <c>hidden_size / num_attention_heads</c> when absent.</summary>
    public int HeadDim { get; init; }
    /// <summary><c>vocab_size</c>.</summary>
    public int VocabularySize { get; init; }
    /// <summary><c>max_position_embeddings</c>: the longest window the model is evaluated on.</summary>
    public int MaxPositionEmbeddings { get; init; }
    /// <summary><c>rms_norm_eps</c>.</summary>
    public double RmsNormEpsilon { get; init; } = 1e-6;
    /// <summary><c>rope_theta</c>.</summary>
    public double RopeTheta { get; init; } = 10000;
    /// <summary><c>rope_scaling</c>, or null.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary><c>tie_word_embeddings</c>: the output head reuses <c>model.embed_tokens.weight</c>.</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Biases on the q, k and v projections (<c>attention_bias</c>; always for Qwen2).</summary>
    public bool QkvBias { get; init; }
    /// <summary>A bias on the output projection (<c>attention_bias</c> of Llama).</summary>
    public bool OutputProjectionBias { get; init; }
    /// <summary><c>mlp_bias</c>: biases on gate, up and down projections.</summary>
    public bool MlpBias { get; init; }
    /// <summary>The MLP activation: <c>silu</c>, <c>gelu</c> (erf) or <c>gelu_pytorch_tanh</c>.</summary>
    public string Activation { get; init; } = "silu";
    /// <summary>Mistral's <c>sliding_window</c>: a token attends to at most this many positions (itself included); null for full attention.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Reads <paramref name="path"/> (a config.json, or the folder holding one).</summary>
    /// <exception cref="FileNotFoundException">There is no config.json.</exception>
    /// <exception cref="InvalidModelConfigException">The file is malformed or a value is out of range.</exception>
    /// <exception cref="UnsupportedModelException">The <c>model_type</c>, <c>rope_scaling</c> or activation is not implemented.</exception>
    public static LlamaConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, "config.json");
        using var document = ModelJson.Load(path, MaxFileBytes, maxDepth: 16);
        return ModelJson.Guard(path, () => Parse(document.RootElement, path));
    }

    /// <summary>Parses config.json content; <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="InvalidModelConfigException">The content is malformed or a value is out of range.</exception>
    /// <exception cref="UnsupportedModelException">The <c>model_type</c>, <c>rope_scaling</c> or activation is not implemented.</exception>
    public static LlamaConfig Parse(ReadOnlyMemory<byte> utf8Json, string path)
    {
        if (utf8Json.Length > MaxFileBytes) throw new InvalidModelConfigException(path, null, $"content has {utf8Json.Length} bytes, more than the {MaxFileBytes} accepted");
        using var document = ModelJson.Parse(utf8Json, path, maxDepth: 16);
        return ModelJson.Guard(path, () => Parse(document.RootElement, path));
    }

    private static LlamaConfig Parse(JsonElement root, string path)
    {
        string modelType = ModelJson.String(root, path, "model_type")
            ?? throw new InvalidModelConfigException(path, "model_type", "is required (one of " + string.Join(", ", SupportedModelTypes) + ")");
        var family = modelType switch
        {
            "llama" => LanguageModelFamily.Llama,
            "mistral" => LanguageModelFamily.Mistral,
            "qwen2" => LanguageModelFamily.Qwen2,
            "gemma" => LanguageModelFamily.Gemma,
            _ => throw new UnsupportedModelException(path, "model_type", ModelJson.Truncate(modelType), string.Join(", ", SupportedModelTypes)),
        };
        int hidden = ModelJson.Int(root, path, "hidden_size", null, 1, MaxDimension);
        int heads = ModelJson.Int(root, path, "num_attention_heads", null, 1, 4096);
        int kvHeads = ModelJson.Int(root, path, "num_key_value_heads", heads, 1, 4096);
        if (heads % kvHeads != 0)
            throw new InvalidModelConfigException(path, "num_key_value_heads", $"{kvHeads} does not divide num_attention_heads {heads}");
        int headDim;
        if (ModelJson.TryGet(root, "head_dim", out _)) headDim = ModelJson.Int(root, path, "head_dim", null, 2, 65536);
        else
        {
            if (hidden % heads != 0) throw new InvalidModelConfigException(path, "hidden_size", $"{hidden} is not a multiple of num_attention_heads {heads} and there is no head_dim");
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) throw new InvalidModelConfigException(path, "head_dim", $"{headDim} is odd; rotary embeddings rotate pairs");
        if ((long)heads * headDim > MaxDimension) throw new InvalidModelConfigException(path, "head_dim", $"{heads} heads × {headDim} is more than {MaxDimension}");

        string activationKey = family == LanguageModelFamily.Gemma ? "hidden_activation" : "hidden_act";
        string activation = ModelJson.String(root, path, activationKey)
            ?? (family == LanguageModelFamily.Gemma ? "gelu_pytorch_tanh" : ModelJson.String(root, path, "hidden_act") ?? "silu");
        if (activation is "gelu_new") activation = "gelu_pytorch_tanh";   // the same tanh approximation in HF's ACT2FN
        if (activation is not ("silu" or "gelu" or "gelu_pytorch_tanh"))
            throw new UnsupportedModelException(path, activationKey, ModelJson.Truncate(activation), "silu, gelu, gelu_pytorch_tanh, gelu_new");

        bool attentionBias = ModelJson.Bool(root, path, "attention_bias", false);
        int? slidingWindow = null;
        if (family == LanguageModelFamily.Mistral && ModelJson.TryGet(root, "sliding_window", out _))
            slidingWindow = ModelJson.Int(root, path, "sliding_window", null, 1, int.MaxValue);
        else if (family == LanguageModelFamily.Qwen2 && ModelJson.Bool(root, path, "use_sliding_window", false))
            throw new UnsupportedModelException(path, "use_sliding_window", "true", "false (Qwen2's per-layer sliding window is not implemented)");

        return new LlamaConfig
        {
            Family = family,
            ModelType = modelType,
            HiddenSize = hidden,
            IntermediateSize = ModelJson.Int(root, path, "intermediate_size", null, 1, 1 << 24),
            LayerCount = ModelJson.Int(root, path, "num_hidden_layers", null, 1, 4096),
            HeadCount = heads,
            KeyValueHeadCount = kvHeads,
            HeadDim = headDim,
            VocabularySize = ModelJson.Int(root, path, "vocab_size", null, 1, 1 << 24),
            MaxPositionEmbeddings = ModelJson.Int(root, path, "max_position_embeddings", 2048, 1, 1 << 24),
            RmsNormEpsilon = ModelJson.Double(root, path, "rms_norm_eps", 1e-6, 0, 1),
            RopeTheta = ModelJson.Double(root, path, "rope_theta", 10000, 1, 1e12),
            RopeScaling = ParseRopeScaling(root, path),
            TieWordEmbeddings = ModelJson.Bool(root, path, "tie_word_embeddings", family == LanguageModelFamily.Gemma),
            QkvBias = family == LanguageModelFamily.Qwen2 || attentionBias,
            OutputProjectionBias = (family is LanguageModelFamily.Llama or LanguageModelFamily.Gemma) && attentionBias,
            MlpBias = ModelJson.Bool(root, path, "mlp_bias", false),
            Activation = activation,
            SlidingWindow = slidingWindow,
        };
    }

    private static RopeScaling? ParseRopeScaling(JsonElement root, string path)
    {
        if (!ModelJson.TryGet(root, "rope_scaling", out var s)) return null;
        if (s.ValueKind != JsonValueKind.Object) throw new InvalidModelConfigException(path, "rope_scaling", $"{ModelJson.Truncate(s.GetRawText())} is not an object or null");
        // HF renamed "type" to "rope_type"; either may be present.
        string type = ModelJson.String(s, path, "rope_type") ?? ModelJson.String(s, path, "type")
            ?? throw new InvalidModelConfigException(path, "rope_scaling.rope_type", "is required when rope_scaling is given");
        if (type == "default") return null;
        if (type is not ("linear" or "llama3"))
            throw new UnsupportedModelException(path, "rope_scaling.rope_type", ModelJson.Truncate(type), "default, linear, llama3");
        double factor = ModelJson.Double(s, path, "factor", double.NaN, 1, 1e6);
        if (double.IsNaN(factor)) throw new InvalidModelConfigException(path, "rope_scaling.factor", "is required");
        if (type == "linear") return new RopeScaling(type, factor);
        double low = ModelJson.Double(s, path, "low_freq_factor", double.NaN, 1e-6, 1e6);
        double high = ModelJson.Double(s, path, "high_freq_factor", double.NaN, 1e-6, 1e6);
        if (double.IsNaN(low) || double.IsNaN(high)) throw new InvalidModelConfigException(path, "rope_scaling", "llama3 scaling needs low_freq_factor and high_freq_factor");
        if (!(high > low)) throw new InvalidModelConfigException(path, "rope_scaling.high_freq_factor", $"{high} must be greater than low_freq_factor {low}");
        int original = ModelJson.Int(s, path, "original_max_position_embeddings", null, 1, 1 << 24);
        return new RopeScaling(type, factor, low, high, original);
    }
}
