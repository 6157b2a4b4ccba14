using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WeightSpace.Analysis.Language;
using WeightSpace.Formats.Safetensors;
using static TorchSharp.torch;

namespace WeightSpace.Train;

/// <summary>Trains the demo's tiny Llama family (data/tinyllama, see data/PROVENANCE.md): a base on prose, python and
/// C, then one full fine-tune per domain, with an autograd forward pass written here in Hugging Face Llama semantics
/// (RMSNorm, rotate-half rotary embeddings, grouped-query attention with a causal mask, SwiGLU, untied lm_head). The
/// held-out texts are scored twice: by this forward pass and by WeightSpace's <see cref="CausalLanguageModel"/> on the
/// written BF16 files, and both numbers go to expected.json (the demo's test checks its scores against the first).</summary>
internal static class TinyLlamaFamily
{
    private const int Hidden = 32, Intermediate = 96, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = Hidden / Heads, Vocab = 256, Window = 128;
    private const double RopeTheta = 10000, Eps = 1e-5;
    // Bytes [0, TrainBytes) of each shared eval text train; [HeldOutStart, end) are the demo's held-out texts.
    private const int TrainBytes = 57344, HeldOutStart = 61440;
    public static readonly string[] Domains = ["prose", "python", "c"];

    public static void Make(string sharedLlm, string outDir, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var texts = Domains.ToDictionary(d => d, d => File.ReadAllBytes(Path.Combine(sharedLlm, "eval", d + ".txt")));
        foreach (var (d, bytes) in texts)
            if (bytes.Length != 65536) throw new InvalidDataException($"{sharedLlm}/eval/{d}.txt: expected 65536 bytes, found {bytes.Length}");
        Directory.CreateDirectory(Path.Combine(outDir, "eval"));
        foreach (var d in Domains) File.WriteAllBytes(Path.Combine(outDir, "eval", d + ".txt"), texts[d][HeldOutStart..]);

        manual_seed(0);
        var weights = Initialize();
        Train(weights, [.. Domains.Select(d => texts[d][..TrainBytes])], steps: 400, lr: 3e-3, seed: 0, "base", log);
        var models = new Dictionary<string, Dictionary<string, TorchSharp.Modules.Parameter>> { ["base"] = weights };
        for (int i = 0; i < Domains.Length; i++)
        {
            var ft = weights.ToDictionary(kv => kv.Key, kv => new TorchSharp.Modules.Parameter(kv.Value.detach().clone()));
            Train(ft, [texts[Domains[i]][..TrainBytes]], steps: 150, lr: 1e-3, seed: 1 + i, "ft-" + Domains[i], log);
            models["ft-" + Domains[i]] = ft;
        }

        var expected = new Dictionary<string, Dictionary<string, object>>();
        foreach (var (name, w) in models)
        {
            string dir = Path.Combine(outDir, name);
            Write(w, dir, Path.Combine(sharedLlm, "base", "tokenizer.json"));
            var own = new Dictionary<string, object>();
            var ours = LanguageModelEvaluation.Evaluate(dir, [.. Domains.Select(d => Path.Combine(outDir, "eval", d + ".txt"))],
                new LanguageModelEvaluationOptions { Model = new LanguageModelOptions { TorchThreads = 1 } });
            for (int i = 0; i < Domains.Length; i++)
            {
                // The forward pass here on the BF16-rounded weights (as written) vs WeightSpace's on the written file.
                double trainer = HeldOutNll(Rounded(w), texts[Domains[i]][HeldOutStart..]);
                own[Domains[i]] = new { trainer_nll_per_byte = trainer, weightspace_nll_per_byte = ours.Texts[i].NllPerByte, bits_per_byte = ours.Texts[i].BitsPerByte };
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} on {Domains[i]}: trainer {trainer:F6}, weightspace {ours.Texts[i].NllPerByte:F6} nats/byte"));
            }
            expected[name] = own;
        }
        File.WriteAllText(Path.Combine(outDir, "expected.json"), JsonSerializer.Serialize(new
        {
            protocol = "independent windows of 128 bytes over each 4096-byte eval text, positions 1..127 scored (docs/evaluation.md)",
            models = expected,
        }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        log.WriteLine($"tiny Llama family written to {outDir} in {clock.Elapsed.TotalSeconds:F0} s");
    }

    private static Dictionary<string, TorchSharp.Modules.Parameter> Initialize()
    {
        var w = new Dictionary<string, TorchSharp.Modules.Parameter>();
        void Linear(string name, int outDim, int inDim) => w[name] = new(randn(outDim, inDim) * 0.02);
        void Norm(string name) => w[name] = new(ones(Hidden));
        w["model.embed_tokens.weight"] = new(randn(Vocab, Hidden) * 0.02);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            Norm(p + "input_layernorm.weight");
            Linear(p + "self_attn.q_proj.weight", Heads * HeadDim, Hidden);
            Linear(p + "self_attn.k_proj.weight", KvHeads * HeadDim, Hidden);
            Linear(p + "self_attn.v_proj.weight", KvHeads * HeadDim, Hidden);
            Linear(p + "self_attn.o_proj.weight", Hidden, Heads * HeadDim);
            Norm(p + "post_attention_layernorm.weight");
            Linear(p + "mlp.gate_proj.weight", Intermediate, Hidden);
            Linear(p + "mlp.up_proj.weight", Intermediate, Hidden);
            Linear(p + "mlp.down_proj.weight", Hidden, Intermediate);
        }
        Norm("model.norm.weight");
        Linear("lm_head.weight", Vocab, Hidden);
        return w;
    }

    /// <summary>Logits [B, T, V] of HF LlamaForCausalLM (eager attention) for token ids [B, T].</summary>
    private static Tensor Forward(IReadOnlyDictionary<string, Tensor> w, Tensor ids)
    {
        long b = ids.shape[0], t = ids.shape[1];
        var x = w["model.embed_tokens.weight"].index_select(0, ids.flatten()).view(b, t, Hidden);
        var invFreq = 1.0 / pow(RopeTheta, arange(0, HeadDim, 2, ScalarType.Float32) / HeadDim);
        var freqs = outer(arange(t, ScalarType.Float32), invFreq);
        var emb = cat([freqs, freqs], -1);
        Tensor cos = emb.cos(), sin = emb.sin();
        var mask = triu(full(t, t, float.MinValue), 1);
        Tensor Rms(Tensor h, string name) => h * rsqrt(h.pow(2).mean([-1], keepdim: true) + Eps) * w[name];
        Tensor Rotate(Tensor h) => cat([-h[.., .., .., (HeadDim / 2)..], h[.., .., .., ..(HeadDim / 2)]], -1);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            var h = Rms(x, p + "input_layernorm.weight");
            var q = nn.functional.linear(h, w[p + "self_attn.q_proj.weight"]).view(b, t, Heads, HeadDim).transpose(1, 2);
            var k = nn.functional.linear(h, w[p + "self_attn.k_proj.weight"]).view(b, t, KvHeads, HeadDim).transpose(1, 2);
            var v = nn.functional.linear(h, w[p + "self_attn.v_proj.weight"]).view(b, t, KvHeads, HeadDim).transpose(1, 2);
            q = q * cos + Rotate(q) * sin;
            k = k * cos + Rotate(k) * sin;
            k = k.repeat_interleave(Heads / KvHeads, 1);
            v = v.repeat_interleave(Heads / KvHeads, 1);
            var att = (q.matmul(k.transpose(-2, -1)) / Math.Sqrt(HeadDim) + mask).softmax(-1);
            var o = att.matmul(v).transpose(1, 2).reshape(b, t, Heads * HeadDim);
            x = x + nn.functional.linear(o, w[p + "self_attn.o_proj.weight"]);
            h = Rms(x, p + "post_attention_layernorm.weight");
            x = x + nn.functional.linear(nn.functional.silu(nn.functional.linear(h, w[p + "mlp.gate_proj.weight"])) * nn.functional.linear(h, w[p + "mlp.up_proj.weight"]),
                w[p + "mlp.down_proj.weight"]);
        }
        return nn.functional.linear(Rms(x, "model.norm.weight"), w["lm_head.weight"]);
    }

    /// <summary>AdamW (β 0.9/0.95, weight decay 0.01 on matrices), batches of 16 random 128-byte windows drawn with
    /// System.Random(seed) from the corpora in turn, linear warm-up over 20 steps then cosine to lr/10.</summary>
    private static void Train(Dictionary<string, TorchSharp.Modules.Parameter> w, byte[][] corpora, int steps, double lr, int seed, string name, TextWriter log)
    {
        const int batch = 16;
        var rng = new Random(seed);
        var matrices = w.Values.Where(p => p.dim() == 2).ToList();
        var vectors = w.Values.Where(p => p.dim() == 1).ToList();
        var optimizer = optim.AdamW([new TorchSharp.Modules.AdamW.ParamGroup(matrices, lr, 0.9, 0.95, 1e-8, 0.01), new TorchSharp.Modules.AdamW.ParamGroup(vectors, lr, 0.9, 0.95, 1e-8, 0)], lr, 0.9, 0.95);
        var view = w.ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value);
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            double rate = s < 20 ? lr * (s + 1) / 20 : lr / 10 + (lr - lr / 10) * 0.5 * (1 + Math.Cos(Math.PI * (s - 20) / Math.Max(1, steps - 20)));
            foreach (var g in optimizer.ParamGroups) g.LearningRate = rate;
            var data = new long[batch * (Window + 1)];
            for (int r = 0; r < batch; r++)
            {
                var corpus = corpora[(s * batch + r) % corpora.Length];
                int start = rng.Next(corpus.Length - Window - 1);
                for (int j = 0; j <= Window; j++) data[r * (Window + 1) + j] = corpus[start + j];
            }
            var all = tensor(data, [batch, Window + 1]);
            var logits = Forward(view, all[.., ..Window]);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, Vocab), all[.., 1..].reshape(-1));
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(w.Values, 1.0);
            optimizer.step();
            if (s % 50 == 0 || s == steps - 1) log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} step {s + 1}/{steps}: loss {loss.item<float>():F4} nats/byte"));
        }
    }

    private static Dictionary<string, Tensor> Rounded(Dictionary<string, TorchSharp.Modules.Parameter> w) =>
        w.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.BFloat16).to(ScalarType.Float32));

    /// <summary>Mean NLL per byte over independent 128-byte windows, positions 1..127 scored (the eval protocol).</summary>
    private static double HeldOutNll(Dictionary<string, Tensor> w, byte[] text)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int windows = text.Length / Window;
        var ids = tensor(text[..(windows * Window)].Select(v => (long)v).ToArray(), [windows, Window]);
        var logits = Forward(w, ids);
        var nll = nn.functional.cross_entropy(logits[.., ..(Window - 1)].reshape(-1, Vocab), ids[.., 1..].reshape(-1), reduction: nn.Reduction.None);
        return nll.to(ScalarType.Float64).sum().item<double>() / (windows * (Window - 1));
    }

    private static void Write(Dictionary<string, TorchSharp.Modules.Parameter> w, string dir, string tokenizer)
    {
        Directory.CreateDirectory(dir);
        var store = new InMemoryTensorStore(dir);
        foreach (var (name, p) in w.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            store.Add(name, p.detach().contiguous().data<float>().ToArray(), [.. p.shape]);
        SafetensorsWriter.Copy(store, Path.Combine(dir, "model.safetensors"), floatDType: DType.BF16);
        File.Copy(tokenizer, Path.Combine(dir, "tokenizer.json"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["model_type"] = "llama",
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = Intermediate,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = 512,
            ["rms_norm_eps"] = Eps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = null,
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = "bfloat16",
            ["vocab_size"] = Vocab,
        }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
