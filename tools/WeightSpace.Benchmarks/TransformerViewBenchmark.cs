using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WeightSpace.Analysis.Heads;
using WeightSpace.Analysis.Neurons;
using WeightSpace.Analysis.Outliers;
using WeightSpace.Analysis.RankProfile;
using WeightSpace.Analysis.Tensors;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using static TorchSharp.torch;

namespace WeightSpace.Benchmarks;

/// <summary>The data-free transformer analyses of issue 13 (<c>heads</c>, the rank profile of <c>ranks</c>, <c>neurons</c>
/// and <c>outliers</c>) on generated Llama-2-7B-shaped decoder layers (BF16; 32 heads of 128; q/k/v/o [4096, 4096],
/// gate/up [11008, 4096], down [4096, 11008]) plus a config.json, each against the baseline it cannot avoid: heads against
/// reading the four attention projections into float32; the rank profile against bare <c>linalg.svdvals</c> of every
/// matrix in the same precision; neurons and outliers against reading every tensor into float32. With neurons or
/// outliers among the modes the checkpoint also gets Llama-2-7B's <c>lm_head</c> [32000, 4096] and final norm, so the
/// largest matrix (and the memory budget) is the unembedding's. Every measurement runs in a child process whose peak
/// RSS (VmHWM) is reported, alternately.</summary>
internal static class TransformerViewBenchmark
{
    private const int Hidden = 4096, Intermediate = 11008, Heads = 32, Vocabulary = 32000;
    private static readonly string[] AllModes = ["read-attention", "heads", "svdvals", "ranks", "read-all", "neurons", "outliers"];
    private static readonly (string Name, int Rows, int Cols)[] Modules =
    [
        ("self_attn.q_proj", Hidden, Hidden), ("self_attn.k_proj", Hidden, Hidden), ("self_attn.v_proj", Hidden, Hidden),
        ("self_attn.o_proj", Hidden, Hidden), ("mlp.gate_proj", Intermediate, Hidden), ("mlp.up_proj", Intermediate, Hidden),
        ("mlp.down_proj", Hidden, Intermediate),
    ];

    public static int Run(string[] args)
    {
        if (args.FirstOrDefault() == "child") return Child(args[1..]);
        int layers = int.Parse(Option(args, "--layers") ?? "1", CultureInfo.InvariantCulture);
        int runs = int.Parse(Option(args, "--runs") ?? "1", CultureInfo.InvariantCulture);
        string dir = Path.Combine(Option(args, "--dir") ?? Path.GetTempPath(), $"weightspace-transformer-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "model.safetensors");
            string[] modes = (Option(args, "--modes") ?? "read-attention,heads,svdvals,ranks").Split(',');
            foreach (string m in modes)
                if (!AllModes.Contains(m)) throw new ArgumentException($"--modes: unknown mode '{m}'; valid: {string.Join(", ", AllModes)}");
            bool withHead = modes.Any(m => m is "read-all" or "neurons" or "outliers");
            Generate(path, layers, withHead);
            File.WriteAllText(Path.Combine(dir, "config.json"), $$"""{"model_type": "llama", "hidden_size": {{Hidden}}, "num_attention_heads": {{Heads}}, "num_key_value_heads": {{Heads}}, "num_hidden_layers": {{layers}}}""");
            var results = new Dictionary<string, List<(double Seconds, long Peak)>>();
            foreach (string m in AllModes) results[m] = [];
            for (int r = 0; r < runs; r++)
                foreach (string m in r % 2 == 0 ? modes : modes.Reverse())
                    results[m].Add(RunChild(m, path));
            double Med(string m) => results[m].Count == 0 ? double.NaN : results[m].Select(x => x.Seconds).Order().ElementAt(runs / 2);
            long Peak(string m) => results[m].Count == 0 ? 0 : results[m].Max(x => x.Peak) >> 20;
            string load = File.ReadAllText("/proc/loadavg").Split(' ')[0..3].Aggregate((x, y) => x + " " + y);
            long largest = (withHead ? (long)Vocabulary * Hidden : (long)Intermediate * Hidden) * 4 >> 20;
            string Row(string m, string what) => results[m].Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
                $"| {what} | {Med(m):F1} s ({Med(m) / layers:F1} s per layer), peak RSS {Peak(m)} MiB |\n");
            string Ratio(string a, string b, string what) => results[a].Count == 0 || results[b].Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
                $"| **{what}** | **{Med(a) / Med(b):F2}** |\n");
            Console.WriteLine($"""
                ### transformer view, {layers} Llama-2-7B-shaped layer(s) ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, load {load}, `dotnet run -c Release --project tools/WeightSpace.Benchmarks -- transformer-view --layers {layers} --runs {runs} --modes {string.Join(',', modes)}`)
                | measure | value |
                |---|---|
                | input | {new FileInfo(path).Length / 1e9:F2} GB BF16, {layers * Modules.Length} layer matrices{(withHead ? " + lm_head [32000, 4096]" : "")}, {layers * Heads} heads |
                {Row("read-attention", "baseline: read q/k/v/o as float32 (median)")}{Row("heads", $"heads (W_QK, W_OV spectra of every head, thin QR + {Heads} cores per layer)")}{Ratio("heads", "read-attention", "heads / read")}{Row("svdvals", "baseline: bare svdvals of every matrix (float64 ≤ 2²⁴ elements, else float32)")}{Row("ranks", "rank profile (svdvals + 90/95/99 % energy ranks, numerical rank, WW power-law fit)")}{Ratio("ranks", "svdvals", "ranks / bare svdvals")}{Row("read-all", "baseline: read every tensor as float32, one at a time")}{Row("neurons", "neurons (every down_proj column through lm_head · diag(γ), top-10 tokens)")}{Row("outliers", "outliers (top 5 |w| of every matrix, blocked SIMD scan)")}| memory budget: 2 largest matrices in float32 + 300 MiB | {2 * largest + 300} MiB |
                """);
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (double, long) RunChild(string mode, string path)
    {
        var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["transformer-view", "child", mode, path]) { RedirectStandardOutput = true })!;
        string text = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"child {mode} failed: {text}");
        var parts = text.Trim().Split(' ');
        return (double.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static int Child(string[] args)
    {
        string mode = args[0], path = args[1];
        using var store = Checkpoint.Open(path);
        var sw = Stopwatch.StartNew();
        double sink = 0;
        switch (mode)
        {
            case "heads":
                sink = AttentionHeadAnalysis.Analyze(store).Heads.Sum(h => h.QueryKey.Spectral);
                break;
            case "ranks":
                sink = RankProfiler.Profile(store).Sum(m => m.RankAtEnergy(0.95) + m.SuggestedRank);
                break;
            case "neurons":
                sink = NeuronDecoder.Decode(store).Layers.Count;
                break;
            case "outliers":
                sink = OutlierScan.Scan(store).Sum(m => m.Outliers[0].RatioToRms);
                break;
            case "read-all":
                foreach (var info in store.Tensors) sink += store.ReadSingle(info.Name)[0];
                break;
            case "read-attention":
                foreach (var info in store.Tensors.Where(t => t.Name.Contains("self_attn", StringComparison.Ordinal)))
                {
                    using var scope = torch.NewDisposeScope();
                    using var buffer = store.Read(info.Name);
                    sink += buffer.ToTorch(ScalarType.Float32).sum().item<float>();
                }
                break;
            default:
                var options = new RankProfileOptions();
                foreach (var info in store.Tensors)
                {
                    using var scope = torch.NewDisposeScope();
                    using var buffer = store.Read(info.Name);
                    var type = info.ElementCount <= options.MaxFloat64Elements ? ScalarType.Float64 : ScalarType.Float32;
                    sink += linalg.svdvals(buffer.ToTorch(type).view(info.Shape[0], info.Shape[1]))[0].to_type(ScalarType.Float64).item<double>();
                }
                break;
        }
        GC.KeepAlive(sink);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sw.Elapsed.TotalSeconds:R} {ProcessMemory.PeakResidentBytes()}"));
        return 0;
    }

    private static void Generate(string path, int layers, bool withHead)
    {
        var infos = Enumerable.Range(0, layers).SelectMany(l => Modules.Select(m => new TensorInfo($"model.layers.{l}.{m.Name}.weight", DType.BF16, new Shape(m.Rows, m.Cols)))).ToList();
        if (withHead) infos.AddRange([new TensorInfo("model.norm.weight", DType.BF16, new Shape(Hidden)), new TensorInfo("lm_head.weight", DType.BF16, new Shape(Vocabulary, Hidden))]);
        using var writer = SafetensorsWriter.Create(path, infos);
        var generator = new Generator(13);
        foreach (var info in infos)
        {
            using var scope = torch.NewDisposeScope();
            if (info.Shape.Rank == 1)
            {
                writer.Write(info.Name, torch.ones([info.Shape[0]]).add(torch.randn([info.Shape[0]], generator: generator).mul(0.1f)).data<float>().ToArray());
                continue;
            }
            // Noise plus a rank-32 signal, so the spectra have a bulk and a tail as trained layers do.
            var w = torch.randn([info.Shape[0], info.Shape[1]], generator: generator).mul(0.02f)
                .add(torch.randn([info.Shape[0], 32], generator: generator).matmul(torch.randn([32, info.Shape[1]], generator: generator)).mul(0.01f));
            writer.Write(info.Name, w.contiguous().data<float>().ToArray());
        }
        writer.Commit();
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
