using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WeightSpace.Analysis.Lora;
using WeightSpace.Analysis.Tensors;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using static TorchSharp.torch;

namespace WeightSpace.Benchmarks;

/// <summary>Extracting a rank-64 adapter from a generated pair of Llama-2-7B-shaped decoder layers (BF16; q/k/v/o
/// [4096, 4096], gate/up [11008, 4096], down [4096, 11008]; ΔW = rank-64 product + small full-rank noise), against the
/// baseline every extractor pays: reading both models and forming ΔW in float64. Candidate and baseline run alternately,
/// each in a child process whose peak RSS (VmHWM) is reported; medians.</summary>
internal static class LoraBenchmark
{
    private const int Hidden = 4096, Intermediate = 11008;
    private static readonly (string Name, int Rows, int Cols)[] Modules =
    [
        ("self_attn.q_proj", Hidden, Hidden), ("self_attn.k_proj", Hidden, Hidden), ("self_attn.v_proj", Hidden, Hidden),
        ("self_attn.o_proj", Hidden, Hidden), ("mlp.gate_proj", Intermediate, Hidden), ("mlp.up_proj", Intermediate, Hidden),
        ("mlp.down_proj", Hidden, Intermediate),
    ];

    public static int Run(string[] args)
    {
        if (args.FirstOrDefault() == "child") return Child(args[1..]);
        int layers = int.Parse(Option(args, "--layers") ?? "2", CultureInfo.InvariantCulture);
        int runs = int.Parse(Option(args, "--runs") ?? "2", CultureInfo.InvariantCulture);
        int rank = int.Parse(Option(args, "--rank") ?? "64", CultureInfo.InvariantCulture);
        string dir = Path.Combine(Option(args, "--dir") ?? Path.GetTempPath(), $"weightspace-lora-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string basePath = Path.Combine(dir, "base.safetensors"), ftPath = Path.Combine(dir, "ft.safetensors");
            var sw = Stopwatch.StartNew();
            Generate(basePath, ftPath, layers);
            double generate = sw.Elapsed.TotalSeconds;
            var extract = new List<(double Seconds, long Peak)>();
            var baseline = new List<(double Seconds, long Peak)>();
            for (int r = 0; r < runs; r++)
            {
                baseline.Add(RunChild("baseline", basePath, ftPath, Path.Combine(dir, "none"), rank));
                string output = Path.Combine(dir, $"adapter{r}");
                extract.Add(RunChild("extract", basePath, ftPath, output, rank));
                Directory.Delete(output, recursive: true);
            }
            double e = extract.Select(x => x.Seconds).Order().ElementAt(runs / 2), b = baseline.Select(x => x.Seconds).Order().ElementAt(runs / 2);
            string load = File.ReadAllText("/proc/loadavg").Split(' ')[0..3].Aggregate((x, y) => x + " " + y);
            long bytes = new FileInfo(basePath).Length;
            Console.WriteLine($"""
                ### lora extract, rank {rank}, {layers} Llama-2-7B-shaped layers ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, load {load}, `dotnet run -c Release --project tools/WeightSpace.Benchmarks -- lora-extract --layers {layers} --runs {runs}`)
                | measure | value |
                |---|---|
                | inputs | base + fine-tune, 2 × {bytes / 1e9:F2} GB BF16, {layers * Modules.Length} modules; generated in {generate:F0} s |
                | baseline: read both, ΔW in float64 per module, runs | {string.Join(", ", baseline.Select(x => x.Seconds.ToString("F1", CultureInfo.InvariantCulture)))} s |
                | extraction (randomized SVD, 2 power iterations, error measured), runs | {string.Join(", ", extract.Select(x => x.Seconds.ToString("F1", CultureInfo.InvariantCulture)))} s |
                | **extraction / baseline time** (medians) | **{e / b:F2}** |
                | extraction per module (median) | {e / (layers * Modules.Length):F2} s |
                | peak RSS: extraction / baseline (child, VmHWM, max over runs) | {extract.Max(x => x.Peak) >> 20} / {baseline.Max(x => x.Peak) >> 20} MiB |
                """);
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (double, long) RunChild(string mode, string basePath, string ftPath, string output, int rank)
    {
        var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["lora-extract", "child", mode, basePath, ftPath, output, rank.ToString(CultureInfo.InvariantCulture)])
            { RedirectStandardOutput = true })!;
        string text = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"child {mode} failed: {text}");
        var parts = text.Trim().Split(' ');
        return (double.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static int Child(string[] args)
    {
        string mode = args[0], basePath = args[1], ftPath = args[2], output = args[3];
        int rank = int.Parse(args[4], CultureInfo.InvariantCulture);
        var sw = Stopwatch.StartNew();
        if (mode == "extract")
        {
            LoraExtraction.Write(basePath, ftPath, output, new LoraExtractOptions { Rank = rank });
        }
        else
        {
            using var b = Checkpoint.Open(basePath);
            using var f = Checkpoint.Open(ftPath);
            double total = 0;
            foreach (var info in b.Tensors)
            {
                using var scope = torch.NewDisposeScope();
                using var x = b.Read(info.Name);
                using var y = f.Read(info.Name);
                total += y.ToTorch(ScalarType.Float64).sub(x.ToTorch(ScalarType.Float64)).square().sum().item<double>();
            }
            GC.KeepAlive(total);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sw.Elapsed.TotalSeconds:R} {ProcessMemory.PeakResidentBytes()}"));
        return 0;
    }

    private static void Generate(string basePath, string ftPath, int layers)
    {
        var infos = Enumerable.Range(0, layers).SelectMany(l => Modules.Select(m => new TensorInfo($"model.layers.{l}.{m.Name}.weight", DType.BF16, new Shape(m.Rows, m.Cols)))).ToList();
        using var baseWriter = SafetensorsWriter.Create(basePath, infos);
        using var ftWriter = SafetensorsWriter.Create(ftPath, infos);
        var generator = new Generator(7);
        foreach (var info in infos)
        {
            using var scope = torch.NewDisposeScope();
            long rows = info.Shape[0], cols = info.Shape[1];
            var w = torch.randn([rows, cols], generator: generator).mul(0.02f);
            var delta = torch.randn([rows, 64], generator: generator).matmul(torch.randn([64, cols], generator: generator)).mul(1e-4f)
                .add(torch.randn([rows, cols], generator: generator).mul(1e-5f));
            baseWriter.Write(info.Name, w.contiguous().data<float>().ToArray());
            ftWriter.Write(info.Name, w.add(delta).contiguous().data<float>().ToArray());
        }
        baseWriter.Commit();
        ftWriter.Commit();
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
