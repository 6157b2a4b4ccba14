using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using WeightSpace.Analysis.Language;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 12's speed target: tokens/s of <see cref="CausalLanguageModel.ScoreNextTokens"/> on a generated
/// Llama-3.2-1B-shaped BF16 checkpoint (hidden 2048, MLP 8192, 16 layers, 32/8 heads × 64, vocab 128256, tied head)
/// is ≥ 0.7× the tokens/s of the same forward's matrix products alone (TorchSharp matmuls of the same shapes in
/// float32, same threads, measured alternately in the same run).
/// </summary>
/// <remarks>The candidate pays everything the bound does not: reading each layer from the mapped file and widening it
/// from BF16, RMSNorm, rotary, mask and softmax, SwiGLU, cross-entropy. Weights are seeded noise: speed does not
/// depend on their values.</remarks>
internal static class LanguageModelBenchmark
{
    public static int Run(string[] args)
    {
        int rounds = int.Parse(Option(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        int threads = int.Parse(Option(args, "--threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int tokens = int.Parse(Option(args, "--tokens") ?? "512", CultureInfo.InvariantCulture);
        int layers = int.Parse(Option(args, "--layers") ?? "16", CultureInfo.InvariantCulture);
        var config = new LlamaConfig
        {
            Family = LanguageModelFamily.Llama, ModelType = "llama", HiddenSize = 2048, IntermediateSize = 8192, LayerCount = layers,
            HeadCount = 32, KeyValueHeadCount = 8, HeadDim = 64, VocabularySize = 128256, MaxPositionEmbeddings = Math.Max(tokens, 2048),
            RmsNormEpsilon = 1e-5, RopeTheta = 500000, TieWordEmbeddings = true,
            RopeScaling = new RopeScaling("llama3", 32, 1, 4, 8192),
        };
        string dir = Path.Combine(Path.GetTempPath(), $"weightspace-llm-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "model.safetensors");
            var generate = Stopwatch.StartNew();
            Generate(path, config);
            generate.Stop();
            set_num_threads(threads);
            using var store = Checkpoint.Open(path);
            using var model = new CausalLanguageModel(store, config, new LanguageModelOptions { TorchThreads = threads });
            var rng = new Random(3);
            var ids = Enumerable.Range(0, tokens).Select(_ => rng.Next(config.VocabularySize)).ToArray();
            var nll = new float[tokens - 1];
            void Candidate() => model.ScoreNextTokens(ids, 1, nll);
            void Bound() => MatmulsOnly(config, tokens);
            Bound();                  // warm-up: page cache, torch init, JIT
            Candidate();
            var candidate = new List<double>();
            var bound = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                if (r % 2 == 0) { bound.Add(Time(Bound)); candidate.Add(Time(Candidate)); }
                else { candidate.Add(Time(Candidate)); bound.Add(Time(Bound)); }
            }
            double paired = Median(bound.Zip(candidate, (b, c) => b / c).ToList());   // (tokens/s candidate) / (tokens/s bound)
            double candidateS = Median(candidate), boundS = Median(bound);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                ### llm ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, torch threads {threads}, load average {LoadAverage()})
                | measure | value |
                |---|---|
                | checkpoint | Llama-3.2-1B shape, {layers} layers, BF16, {store.ParameterCount / 1e9:F2} B parameters, {new FileInfo(path).Length / 1e9:F2} GB (generated in {generate.Elapsed.TotalSeconds:F0} s) |
                | input | 1 sequence of {tokens} tokens |
                | bound: the forward's matmuls alone (float32, weights resident), median of {rounds} | {boundS:F2} s = {tokens / boundS:F1} tokens/s ({string.Join(", ", bound.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}) |
                | `CausalLanguageModel.ScoreNextTokens`, median of {rounds} | {candidateS:F2} s = {tokens / candidateS:F1} tokens/s ({string.Join(", ", candidate.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}) |
                | median of per-round ratios, tokens/s candidate ÷ bound (target ≥ 0.7) | **{paired:F3}** |
                """));
            return paired >= 0.7 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The matrix products of one forward pass over <paramref name="tokens"/> tokens, nothing else: q/k/v/o,
    /// QKᵀ and PV per head, gate/up/down per layer, then the output head over the predicting positions.</summary>
    private static void MatmulsOnly(LlamaConfig c, int tokens)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long h = c.HiddenSize, q = (long)c.HeadCount * c.HeadDim, kv = (long)c.KeyValueHeadCount * c.HeadDim;
        // One layer's float32 weights, reused by every layer: the same shapes, as the candidate's one-layer-at-a-time.
        var wq = randn(q, h) * 0.02f; var wk = randn(kv, h) * 0.02f; var wv = randn(kv, h) * 0.02f; var wo = randn(h, q) * 0.02f;
        var wg = randn(c.IntermediateSize, h) * 0.02f; var wu = randn(c.IntermediateSize, h) * 0.02f; var wd = randn(h, c.IntermediateSize) * 0.02f;
        var head = randn(c.VocabularySize, h) * 0.02f;
        var x = randn(1, tokens, h);
        var scores = randn(1, c.HeadCount, tokens, tokens);
        for (int l = 0; l < c.LayerCount; l++)
        {
            using var layer = NewDisposeScope();
            var qh = linear(x, wq).view(1, tokens, c.HeadCount, c.HeadDim).transpose(1, 2);
            var kh = linear(x, wk).view(1, tokens, c.KeyValueHeadCount, c.HeadDim).transpose(1, 2).repeat_interleave(c.HeadCount / c.KeyValueHeadCount, dim: 1);
            var vh = linear(x, wv).view(1, tokens, c.KeyValueHeadCount, c.HeadDim).transpose(1, 2).repeat_interleave(c.HeadCount / c.KeyValueHeadCount, dim: 1);
            _ = matmul(qh, kh.transpose(2, 3));
            var attention = matmul(scores, vh).transpose(1, 2).reshape(1, tokens, q);
            _ = linear(attention, wo);
            _ = linear(linear(x, wg), wd);
            _ = linear(x, wu);
        }
        _ = linear(x.narrow(1, 0, tokens - 1).reshape(-1, h), head);
    }

    /// <summary>Seeded N(0, 0.02²) BF16 matrices and unit norm weights, written through <see cref="SafetensorsWriter"/>.</summary>
    private static void Generate(string path, LlamaConfig config)
    {
        var infos = CausalLanguageModelShapes(config).Select(s => new TensorInfo(s.Name, DType.BF16, new Shape(s.Shape))).ToList();
        using var writer = SafetensorsWriter.Create(path, infos);
        // A 1 Mi-value table of BF16 noise, written at rotating offsets: fast, and no two tensors are equal.
        var rng = new Random(11);
        var table = new ushort[1 << 20];
        for (int i = 0; i < table.Length; i++)
        {
            float v = (float)(0.02 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            table[i] = (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16);
        }
        var ones = new ushort[1 << 16];
        Array.Fill(ones, (ushort)0x3F80);
        int rotate = 0;
        foreach (var info in infos)
        {
            long bytes = info.ByteCount;
            var source = info.Shape.Rank == 1 ? ones : table;
            for (long at = 0; at < bytes;)
            {
                int start = info.Shape.Rank == 1 ? 0 : (rotate = (rotate + 7919) % (table.Length / 2));
                var chunk = MemoryMarshal.AsBytes(source.AsSpan(start, Math.Min(source.Length - start, (int)Math.Min(int.MaxValue / 2, (bytes - at) / 2))));
                writer.Write(info.Name, at, chunk);
                at += chunk.Length;
            }
        }
        writer.Commit();
    }

    private static IEnumerable<(string Name, long[] Shape)> CausalLanguageModelShapes(LlamaConfig c)
    {
        long h = c.HiddenSize, q = (long)c.HeadCount * c.HeadDim, kv = (long)c.KeyValueHeadCount * c.HeadDim, i = c.IntermediateSize;
        yield return ("model.embed_tokens.weight", [c.VocabularySize, h]);
        for (int l = 0; l < c.LayerCount; l++)
        {
            string p = $"model.layers.{l}.";
            yield return (p + "input_layernorm.weight", [h]);
            yield return (p + "post_attention_layernorm.weight", [h]);
            yield return (p + "self_attn.q_proj.weight", [q, h]);
            yield return (p + "self_attn.k_proj.weight", [kv, h]);
            yield return (p + "self_attn.v_proj.weight", [kv, h]);
            yield return (p + "self_attn.o_proj.weight", [h, q]);
            yield return (p + "mlp.gate_proj.weight", [i, h]);
            yield return (p + "mlp.up_proj.weight", [i, h]);
            yield return (p + "mlp.down_proj.weight", [h, i]);
        }
        yield return ("model.norm.weight", [h]);
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
