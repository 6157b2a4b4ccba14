using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace WeightSpace.Analysis.Language;

// The forward pass, line for line the eager path of Hugging Face's modeling_llama.py (and the few lines where Mistral,
// Qwen2 and Gemma differ). Operations are kept in HF's order so float32 rounding matches PyTorch's.
public sealed partial class CausalLanguageModel
{
    // Logits per chunk of the output head: bounds the [positions, vocab] tensor for large vocabularies (~64 MB in float32).
    private const long HeadChunkElements = 1 << 24;

    private ScalarType Compute => Options.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    private float[] ForwardLogits(ReadOnlySpan<int> ids, int rows, int length)
    {
        using var threads = TorchThreadScope.Set(Options.TorchThreads);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hidden = Hidden(ids, rows, length);
        using var head = LoadHead();
        var logits = linear(hidden, head).to_type(ScalarType.Float32).contiguous();
        return logits.data<float>().ToArray();
    }

    private void ForwardNll(ReadOnlySpan<int> ids, int rows, int length, Span<float> destination)
    {
        using var threads = TorchThreadScope.Set(Options.TorchThreads);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hidden = Hidden(ids, rows, length);
        // Position j predicts token j + 1: drop each row's last hidden state and first token.
        long h = Config.HiddenSize;
        var predictors = hidden.narrow(1, 0, length - 1).reshape(-1, h);
        var targetIds = new long[rows * (length - 1)];
        for (int r = 0; r < rows; r++)
            for (int j = 1; j < length; j++) targetIds[r * (length - 1) + j - 1] = ids[r * length + j];
        var targets = tensor(targetIds, ScalarType.Int64);
        using var head = LoadHead();
        long total = targetIds.Length;
        long chunk = Math.Max(1, HeadChunkElements / Config.VocabularySize);
        for (long start = 0; start < total; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            long n = Math.Min(chunk, total - start);
            // HF: logits = lm_head(hidden).float(); loss = cross_entropy(logits, labels, reduction='none').
            var logits = linear(predictors.narrow(0, start, n), head);
            if (!Options.Float64) logits = logits.to_type(ScalarType.Float32);
            var nll = cross_entropy(logits, targets.narrow(0, start, n), reduction: nn.Reduction.None).to_type(ScalarType.Float32).contiguous();
            nll.data<float>().CopyTo(destination.Slice((int)start, (int)n));
        }
    }

    /// <summary>The final-norm hidden states [rows, length, hidden] in the compute type, in the caller's scope.
    /// <paramref name="observe"/>, if given, sees the residual stream entering each block (index 0…L−1) and the last
    /// block's output before the final norm (index L).</summary>
    private Tensor Hidden(ReadOnlySpan<int> ids, int rows, int length, Action<int, Tensor>? observe = null)
    {
        var x = Embed(ids, rows, length);
        if (Config.Family == LanguageModelFamily.Gemma)
            x = x.mul(Options.Float64 ? Math.Sqrt(Config.HiddenSize) : (double)MathF.Sqrt(Config.HiddenSize));   // HF: hidden_size**0.5 as a tensor of the hidden dtype
        var (cos, sin) = Rotary(length);
        var mask = CausalMask(length);
        for (int layer = 0; layer < Config.LayerCount; layer++)
        {
            observe?.Invoke(layer, x);
            using var layerScope = NewDisposeScope();
            var next = DecoderLayer(x, layer, cos, sin, mask).MoveToOuterDisposeScope();
            x.Dispose();
            x = next;
        }
        observe?.Invoke(Config.LayerCount, x);
        using var norm = Load("model.norm.weight");
        return RmsNorm(x, norm);
    }

    private Tensor DecoderLayer(Tensor x, int layer, Tensor cos, Tensor sin, Tensor mask)
    {
        string p = LayerPrefix(layer);
        long rows = x.shape[0], length = x.shape[1];
        int heads = Config.HeadCount, kvHeads = Config.KeyValueHeadCount, headDim = Config.HeadDim;

        var h = RmsNorm(x, Load(p + "input_layernorm.weight"));
        var q = linear(h, Load(p + "self_attn.q_proj.weight"), OptionalBias(p + "self_attn.q_proj.bias", Config.QkvBias)).view(rows, length, heads, headDim).transpose(1, 2);
        var k = linear(h, Load(p + "self_attn.k_proj.weight"), OptionalBias(p + "self_attn.k_proj.bias", Config.QkvBias)).view(rows, length, kvHeads, headDim).transpose(1, 2);
        var v = linear(h, Load(p + "self_attn.v_proj.weight"), OptionalBias(p + "self_attn.v_proj.bias", Config.QkvBias)).view(rows, length, kvHeads, headDim).transpose(1, 2);
        q = q.mul(cos).add(RotateHalf(q).mul(sin));
        k = k.mul(cos).add(RotateHalf(k).mul(sin));
        if (heads != kvHeads)
        {
            // repeat_kv: query head i reads key/value head i / (heads / kvHeads).
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var scores = matmul(q, k.transpose(2, 3)).div(Math.Sqrt(headDim)).add(mask);
        var attention = matmul(softmax(scores, -1), v).transpose(1, 2).contiguous().reshape(rows, length, heads * headDim);
        x = x.add(linear(attention, Load(p + "self_attn.o_proj.weight"), OptionalBias(p + "self_attn.o_proj.bias", Config.OutputProjectionBias)));

        h = RmsNorm(x, Load(p + "post_attention_layernorm.weight"));
        var gate = linear(h, Load(p + "mlp.gate_proj.weight"), OptionalBias(p + "mlp.gate_proj.bias", Config.MlpBias));
        var up = linear(h, Load(p + "mlp.up_proj.weight"), OptionalBias(p + "mlp.up_proj.bias", Config.MlpBias));
        var downInput = Activate(gate).mul(up);
        var mlp = linear(downInput, Load(p + "mlp.down_proj.weight"), OptionalBias(p + "mlp.down_proj.bias", Config.MlpBias));
        DownProjectionObserver?.Observe(layer, downInput, mlp);
        return x.add(mlp);
    }

    private Tensor Activate(Tensor x) => Config.Activation switch
    {
        "silu" => silu(x),
        "gelu" => gelu(x),
        _ => gelu(x, GELU.Approximate.tanh),
    };

    /// <summary>RMSNorm: w · x / √(mean(x²) + ε); Gemma scales by (1 + w).</summary>
    private Tensor RmsNorm(Tensor x, Tensor weight)
    {
        var normalized = x.mul(x.pow(2).mean([-1], keepdim: true).add(Config.RmsNormEpsilon).rsqrt());
        return Config.Family == LanguageModelFamily.Gemma ? normalized.mul(weight.add(1.0)) : weight.mul(normalized);
    }

    private static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        return cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
    }

    /// <summary>cos and sin of the rotary angles [length, head_dim] (angles t·inv_freq, duplicated), computed in float32 as HF does.</summary>
    private (Tensor Cos, Tensor Sin) Rotary(int length)
    {
        var inverse = tensor(_inverseFrequencies, ScalarType.Float32);
        var positions = arange(length, ScalarType.Float32);
        var frequencies = positions.unsqueeze(1).mul(inverse.unsqueeze(0));   // [T, d/2]: one float32 product each, as HF's outer matmul
        var angles = cat([frequencies, frequencies], -1);
        return (angles.cos().to_type(Compute), angles.sin().to_type(Compute));
    }

    /// <summary>Additive mask [length, length]: 0 where query t may attend key s, finfo.min elsewhere (s &gt; t, or s ≤ t − sliding_window).</summary>
    private Tensor CausalMask(int length)
    {
        double min = Options.Float64 ? double.MinValue : float.MinValue;
        var keys = arange(length, ScalarType.Int64).unsqueeze(0);
        var queries = keys.transpose(0, 1);
        var blocked = keys.gt(queries);
        if (Config.SlidingWindow is int window && window < length)
            blocked = blocked.logical_or(keys.le(queries.sub(window)));
        return zeros(length, length, Compute).masked_fill(blocked, min);
    }

    private Tensor Embed(ReadOnlySpan<int> ids, int rows, int length)
    {
        int h = Config.HiddenSize;
        using var buffer = _weights.Read("model.embed_tokens.weight");
        // Rows are converted straight from the stored bytes: the [vocab, hidden] table is never widened as a whole.
        if (Options.Float64)
        {
            var values = new double[checked((long)ids.Length * h)];
            for (int t = 0; t < ids.Length; t++) buffer.CopyTo((long)ids[t] * h, values.AsSpan(t * h, h));
            return tensor(values, [rows, length, h]);
        }
        var floats = new float[checked((long)ids.Length * h)];
        for (int t = 0; t < ids.Length; t++) buffer.CopyTo((long)ids[t] * h, floats.AsSpan(t * h, h));
        return tensor(floats, [rows, length, h]);
    }

    private Tensor LoadHead() => Load(Config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");

    private Tensor? OptionalBias(string name, bool present) => present ? Load(name) : null;

    /// <summary>One tensor in the compute type, in the caller's dispose scope: read from the mapped file in its stored dtype, then cast.</summary>
    private Tensor Load(string name)
    {
        using var buffer = _weights.Read(name);
        return buffer.ToTorch(Compute);
    }
}
