namespace WeightSpace.Analysis.Language;

/// <summary>A Llama-family causal language model run by TorchSharp on the CPU, with Hugging Face's semantics
/// (<c>LlamaForCausalLM</c>, <c>MistralForCausalLM</c>, <c>Qwen2ForCausalLM</c>, <c>GemmaForCausalLM</c>, eager attention).</summary>
/// <remarks>
/// The weights stay in the checkpoint, in their stored dtype (BF16 and F16 are not widened ahead of time). A forward pass
/// reads one decoder layer at a time, converts that layer alone to the compute type, applies it to the whole batch and
/// frees it, so the memory beyond what the checkpoint maps is one layer's weights in float32 plus the activations.
/// Embedding rows are gathered straight from the stored bytes. Every tensor's shape is checked against the config
/// when the model is created, so a mismatch is one error naming the tensor before any compute.
/// </remarks>
public sealed partial class CausalLanguageModel : INextTokenScorer, IDisposable
{
    private readonly TensorStore _weights;
    private readonly bool _ownsWeights;
    private readonly float[] _inverseFrequencies;
    private bool _disposed;

    /// <summary>Wraps <paramref name="weights"/> (not owned: the caller disposes it after the model).</summary>
    /// <param name="weights">Tensors with Hugging Face names (<c>model.layers.N.self_attn.q_proj.weight</c>, …).</param>
    /// <param name="config">The architecture.</param>
    /// <param name="options">Compute options; defaults if null.</param>
    /// <exception cref="InvalidCheckpointException">A tensor the config needs is missing, has another shape, or is not floating point.</exception>
    public CausalLanguageModel(TensorStore weights, LlamaConfig config, LanguageModelOptions? options = null)
        : this(weights, config, options, ownsWeights: false) { }

    private CausalLanguageModel(TensorStore weights, LlamaConfig config, LanguageModelOptions? options, bool ownsWeights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        _weights = weights;
        _ownsWeights = ownsWeights;
        Config = config;
        Options = options ?? new LanguageModelOptions();
        Validate(weights, config);
        _inverseFrequencies = RopeScaling.InverseFrequencies(config.RopeTheta, config.HeadDim, config.RopeScaling);
    }

    /// <summary>Opens a Hugging Face model folder: <c>config.json</c> beside safetensors (single or sharded) or
    /// <c>pytorch_model.bin</c>; or one weights file whose folder holds the config.</summary>
    /// <param name="path">The folder, or a weights file in it.</param>
    /// <param name="options">Compute options; defaults if null.</param>
    /// <exception cref="FileNotFoundException">No config.json or no weights.</exception>
    /// <exception cref="InvalidModelConfigException">config.json is malformed.</exception>
    /// <exception cref="UnsupportedModelException">The model_type (or rope scaling, activation) is not implemented.</exception>
    /// <exception cref="InvalidCheckpointException">The weights are malformed or do not match the config.</exception>
    public static CausalLanguageModel Open(string path, LanguageModelOptions? options = null)
    {
        using var files = LanguageModelFiles.Open(path);
        var store = files.DetachWeights();
        try
        {
            return new CausalLanguageModel(store, files.Config, options, ownsWeights: true);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Compute options.</summary>
    public LanguageModelOptions Options { get; }

    /// <summary>The checkpoint the weights are read from.</summary>
    public TensorStore Weights => _weights;

    /// <inheritdoc/>
    public int VocabularySize => Config.VocabularySize;

    /// <inheritdoc/>
    public int MaxSequenceLength => Config.MaxPositionEmbeddings;

    /// <summary>Sees each layer's <c>mlp.down_proj</c> input and output during forward passes (activation analyses such as
    /// super-weight detection); null, the default, costs nothing.</summary>
    public IDownProjectionObserver? DownProjectionObserver { get; set; }

    /// <summary>The float32 rotary inverse frequencies (after any rope_scaling), one per rotated pair.</summary>
    public ReadOnlySpan<float> InverseFrequencies => _inverseFrequencies;

    /// <summary>The logits of <paramref name="rows"/> sequences, row-major [rows, length, vocab], as float32.</summary>
    /// <param name="tokenIds">Row-major [rows, length] token ids, each in [0, vocab_size).</param>
    /// <param name="rows">Number of sequences (at least 1; the length must divide evenly).</param>
    /// <exception cref="ArgumentException">The ids do not form rows, the length exceeds max_position_embeddings, or an id is out of range.</exception>
    public float[] Logits(ReadOnlySpan<int> tokenIds, int rows)
    {
        int length = CheckBatch(tokenIds, rows);
        return ForwardLogits(tokenIds, rows, length);
    }

    /// <summary>The residual stream of <paramref name="rows"/> sequences, as float32 row-major [rows · length, hidden]:
    /// index l &lt; L is the input of block l (index 0: the embeddings), index L the last block's output before the final
    /// norm, so states l and l + 1 are one block's input and output. (Hugging Face's <c>output_hidden_states</c> differs
    /// only in its last entry, which it takes after the final norm.)</summary>
    /// <exception cref="ArgumentException">As <see cref="Logits"/>.</exception>
    public float[][] HiddenStates(ReadOnlySpan<int> tokenIds, int rows)
    {
        int length = CheckBatch(tokenIds, rows);
        var states = new float[Config.LayerCount + 1][];
        using var threads = TorchThreadScope.Set(Options.TorchThreads);
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        Hidden(tokenIds, rows, length, (layer, x) => states[layer] = x.to_type(TorchSharp.torch.ScalarType.Float32).contiguous().data<float>().ToArray());
        return states;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">As <see cref="Logits"/>, or <paramref name="destination"/> is too short.</exception>
    public void ScoreNextTokens(ReadOnlySpan<int> tokenIds, int rows, Span<float> destination)
    {
        int length = CheckBatch(tokenIds, rows);
        if (destination.Length < (long)rows * (length - 1))
            throw new ArgumentException($"destination holds {destination.Length}; {rows} × {length - 1} scores are produced", nameof(destination));
        ForwardNll(tokenIds, rows, length, destination);
    }

    /// <summary>Disposes the checkpoint if this model opened it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsWeights) _weights.Dispose();
    }

    private int CheckBatch(ReadOnlySpan<int> tokenIds, int rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (tokenIds.Length == 0 || tokenIds.Length % rows != 0)
            throw new ArgumentException($"{tokenIds.Length} token ids do not form {rows} rows of equal length", nameof(tokenIds));
        int length = tokenIds.Length / rows;
        if (length > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {length} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}", nameof(tokenIds));
        foreach (int id in tokenIds)
            if ((uint)id >= (uint)Config.VocabularySize)
                throw new ArgumentException($"token id {id} is outside the vocabulary [0, {Config.VocabularySize})", nameof(tokenIds));
        return length;
    }

    /// <summary>Every tensor the config implies, with its shape: checked once so a forward pass never meets a surprise.</summary>
    internal static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(LlamaConfig c)
    {
        long h = c.HiddenSize, q = (long)c.HeadCount * c.HeadDim, kv = (long)c.KeyValueHeadCount * c.HeadDim, i = c.IntermediateSize;
        yield return ("model.embed_tokens.weight", [c.VocabularySize, h]);
        for (int l = 0; l < c.LayerCount; l++)
        {
            string p = LayerPrefix(l);
            yield return (p + "input_layernorm.weight", [h]);
            yield return (p + "post_attention_layernorm.weight", [h]);
            yield return (p + "self_attn.q_proj.weight", [q, h]);
            yield return (p + "self_attn.k_proj.weight", [kv, h]);
            yield return (p + "self_attn.v_proj.weight", [kv, h]);
            yield return (p + "self_attn.o_proj.weight", [h, q]);
            if (c.QkvBias)
            {
                yield return (p + "self_attn.q_proj.bias", [q]);
                yield return (p + "self_attn.k_proj.bias", [kv]);
                yield return (p + "self_attn.v_proj.bias", [kv]);
            }
            if (c.OutputProjectionBias) yield return (p + "self_attn.o_proj.bias", [h]);
            yield return (p + "mlp.gate_proj.weight", [i, h]);
            yield return (p + "mlp.up_proj.weight", [i, h]);
            yield return (p + "mlp.down_proj.weight", [h, i]);
            if (c.MlpBias)
            {
                yield return (p + "mlp.gate_proj.bias", [i]);
                yield return (p + "mlp.up_proj.bias", [i]);
                yield return (p + "mlp.down_proj.bias", [h]);
            }
        }
        yield return ("model.norm.weight", [h]);
        if (!c.TieWordEmbeddings) yield return ("lm_head.weight", [c.VocabularySize, h]);
    }

    internal static string LayerPrefix(int layer) => string.Create(CultureInfo.InvariantCulture, $"model.layers.{layer}.");

    private static void Validate(TensorStore weights, LlamaConfig config)
    {
        foreach (var (name, shape) in ExpectedTensors(config))
        {
            if (!weights.TryGetInfo(name, out var info))
                throw new InvalidCheckpointException(weights.Path, name,
                    $"missing, but config.json (model_type {config.ModelType}, {config.LayerCount} layers{(config.TieWordEmbeddings ? "" : ", untied lm_head")}) needs it");
            if (!info.Shape.ToArray().AsSpan().SequenceEqual(shape))
                throw new InvalidCheckpointException(weights.Path, name,
                    $"shape {info.Shape} but config.json needs [{string.Join(", ", shape)}] (hidden_size {config.HiddenSize}, intermediate_size {config.IntermediateSize}, heads {config.HeadCount}/{config.KeyValueHeadCount} × head_dim {config.HeadDim}, vocab_size {config.VocabularySize})");
            if (info.DType is not (DType.F32 or DType.BF16 or DType.F16 or DType.F64))
                throw new InvalidCheckpointException(weights.Path, name, $"dtype {info.DType} is not F32, BF16, F16 or F64");
        }
    }
}
