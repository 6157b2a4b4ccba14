using WeightSpace.Analysis.Lora;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Analysis.Language;

/// <summary>A language model's config, tokenizer and weights, from a Hugging Face folder (or a weights file inside one)
/// or from a GGUF file, whose config and tokenizer are its <c>llama.*</c> and <c>tokenizer.ggml.*</c> metadata
/// (<see cref="GgufModelConfig"/>) and whose block-quantised weights are dequantised as ggml does. Every analysis that
/// runs the model on text (eval, lmc and its plane, layer similarity, the super weight) opens its models through this
/// one place, so a .gguf is accepted wherever a folder is, and a PEFT adapter can be merged in on read.</summary>
/// <param name="modelPath">The path as given.</param>
/// <param name="configSource">Where the config came from, for messages.</param>
/// <param name="config">The parsed config.</param>
/// <param name="gguf">The GGUF store (owned), or null for a folder.</param>
/// <param name="weightsPath">A folder's weights path, or null for a GGUF.</param>
internal sealed class LanguageModelFiles(string modelPath, string configSource, LlamaConfig config, GgufStore? gguf, string? weightsPath) : IDisposable
{
    private readonly GgufStore? _gguf = gguf;
    private TensorStore? _weights;
    private AdaptedTensorStore? _adapted;
    private string? _adapterPath;
    private bool _detached;

    /// <summary>Where the config came from, for messages: the config.json path, or the GGUF file.</summary>
    public string ConfigSource { get; } = configSource;

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; } = config;

    /// <summary>The weights, opened on first use and owned by this object (a GGUF's dequantised to float32 where
    /// block-quantised; with an adapter, W + s·B·A per adapted module in float32).</summary>
    /// <exception cref="WeightSpace.Formats.Peft.InvalidAdapterException">The adapter does not fit the model.</exception>
    public TensorStore Weights
    {
        get
        {
            ObjectDisposedException.ThrowIf(_detached, this);
            // The GGUF wrapper owns the GGUF store, so disposing the weights closes the file either way.
            _weights ??= _gguf is not null ? new DequantizedTensorStore(_gguf, ownsInner: true) : Checkpoint.Open(weightsPath!);
            if (_adapterPath is null) return _weights;
            // Changed tensors stay float32 rather than rounded to the base's dtype: the principled score of W + s·B·A.
            return _adapted ??= AdaptedTensorStore.Open(_weights, _adapterPath, DType.F32);
        }
    }

    /// <summary>Opens <paramref name="path"/>: reads and validates the config; the weights open on first use.</summary>
    /// <exception cref="FileNotFoundException">A folder lacks config.json or weights, or the path names nothing.</exception>
    /// <exception cref="WeightSpace.Formats.Hub.ModelNotCachedException">A hub id the local cache does not hold.</exception>
    /// <exception cref="InvalidModelConfigException">config.json is malformed.</exception>
    /// <exception cref="InvalidGgufException">A GGUF lacks a key the config needs.</exception>
    /// <exception cref="UnsupportedModelException">The architecture is not implemented.</exception>
    /// <param name="path">A folder, a weights file in one, a GGUF file or a hub id.</param>
    /// <param name="adapterPath">A PEFT adapter folder to merge into the weights on read, or null.</param>
    public static LanguageModelFiles Open(string path, string? adapterPath = null)
    {
        var files = OpenModel(path);
        // An adapter may be a hub id too (its snapshot folder in the local cache).
        files._adapterPath = adapterPath is null ? null : Checkpoint.ResolveLocal(adapterPath);
        return files;
    }

    /// <summary>Opens <paramref name="path"/>, or, when it is a PEFT adapter folder, <paramref name="basePath"/> with that
    /// adapter merged in (an adapter stands for its base plus the adapter, as everywhere in WeightSpace).</summary>
    public static LanguageModelFiles OpenOrAdapted(string path, string basePath) =>
        AdaptedTensorStore.IsAdapterFolder(path) ? Open(basePath, path) : Open(path);

    private static LanguageModelFiles OpenModel(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // A hub id (ORG/NAME[@REVISION]) is its snapshot folder in the local Hugging Face cache, as for every other verb.
        path = Checkpoint.ResolveLocal(path);
        if (!GgufModelConfig.IsGguf(path))
        {
            var (configPath, weightsPath) = ModelFolder.Resolve(path);
            return new LanguageModelFiles(path, configPath, LlamaConfig.Load(configPath), null, weightsPath);
        }
        var gguf = GgufReader.Open(path);
        try
        {
            return new LanguageModelFiles(path, $"{path} (llama.* metadata)", GgufModelConfig.Config(gguf), gguf, null);
        }
        catch
        {
            gguf.Dispose();
            throw;
        }
    }

    /// <summary>The model's tokenizer: tokenizer.json beside the config, or the GGUF's <c>tokenizer.ggml.*</c>.</summary>
    /// <exception cref="FileNotFoundException">A folder has no tokenizer.json.</exception>
    /// <exception cref="UnsupportedModelException">A GGUF's tokenizer model is not gpt2 or llama.</exception>
    public HuggingFaceTokenizer LoadTokenizer() =>
        _gguf is not null ? GgufModelConfig.Tokenizer(_gguf) : HuggingFaceTokenizer.Load(ModelFolder.TokenizerPath(modelPath));

    /// <summary>Reads and tokenizes <paramref name="textPaths"/> (before any model work, so a bad text fails fast).</summary>
    /// <exception cref="InvalidTextException">A text is empty or not UTF-8.</exception>
    public static List<TokenizedText> Tokenize(HuggingFaceTokenizer tokenizer, IReadOnlyList<string> textPaths)
    {
        var texts = new List<TokenizedText>(textPaths.Count);
        foreach (string path in textPaths)
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0) throw new InvalidTextException(path, "is empty");
            texts.Add(new TokenizedText(path, bytes.Length, tokenizer.Encode(bytes, path)));
        }
        return texts;
    }

    /// <summary>Refuses a window longer than the model's context.</summary>
    /// <exception cref="InvalidModelConfigException">It does not fit.</exception>
    public void RequireWindow(int window)
    {
        if (window > Config.MaxPositionEmbeddings)
            throw new InvalidModelConfigException(ConfigSource, "max_position_embeddings", $"is {Config.MaxPositionEmbeddings}; a window of {window} tokens does not fit");
    }

    /// <summary>Gives up the weights: the caller owns (and disposes) the returned store, which outlives this object.</summary>
    public TensorStore DetachWeights()
    {
        if (_adapterPath is not null) throw new InvalidOperationException("the weights of a model with an adapter are not detached");
        var weights = Weights;
        _weights = null;
        _detached = true;
        return weights;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_detached) return;
        _detached = true;
        _adapted?.Dispose();
        if (_weights is not null) _weights.Dispose();
        else _gguf?.Dispose();
    }
}

/// <summary>A text file read and tokenized.</summary>
/// <param name="Path">The file.</param>
/// <param name="Bytes">Its length in bytes.</param>
/// <param name="Ids">Its token ids.</param>
internal sealed record TokenizedText(string Path, long Bytes, int[] Ids);
