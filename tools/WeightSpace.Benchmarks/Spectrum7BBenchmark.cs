using System.Diagnostics;
using System.Globalization;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using static TorchSharp.torch;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 17 (b): a generated Llama-7B-shaped checkpoint (32 blocks of q/k/v/o 4096², gate/up 11008×4096, down
/// 4096×11008, two norms each, plus embed_tokens and lm_head 32000×4096 and the final norm; BF16, ~13.5 GB) analysed in
/// full with <c>spectrum</c>'s defaults (WW conventions and fit, Gram solver, float32) in a child process; target
/// ≤ 10 minutes on 2 cores and peak RSS ≤ 3 × the largest matrix in float32 + 300 MB. The checkpoint is deleted after.
/// </summary>
/// <remarks>Entries are N(0, 1/cols) noise from torch's seeded generator: the solvers' cost depends on the shapes, not
/// the values, and the power-law and MP fits still run on every layer. <c>--blocks</c> scales the run down for a
/// quick check (the time then covers that many blocks); <c>--parallel P</c> solves P matrices at once (torch threads =
/// cores ÷ P), as <c>SpectrumOptions.MaxDegreeOfParallelism</c> does.</remarks>
internal static class Spectrum7BBenchmark
{
    private const long Hidden = 4096, Intermediate = 11008, Vocab = 32000;

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "child") return Child(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
        int parallel = int.Parse(Option(args, "--parallel") ?? "1", CultureInfo.InvariantCulture);
        int blocks = int.Parse(Option(args, "--blocks") ?? "32", CultureInfo.InvariantCulture);
        string root = Option(args, "--dir") ?? Path.GetTempPath();
        string dir = Path.Combine(root, $"weightspace-spectrum-7b-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var generate = Stopwatch.StartNew();
            string model = Generate(dir, blocks);
            Console.Error.WriteLine($"generated {blocks} blocks in {generate.Elapsed.TotalSeconds:F0} s");
            string loadBefore = LoadAverage();
            var watch = Stopwatch.StartNew();
            var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["spectrum-7b", "child", model, parallel.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true })!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            double seconds = watch.Elapsed.TotalSeconds;
            if (child.ExitCode != 0) { Console.Error.WriteLine($"child failed ({child.ExitCode}): {output}"); return 1; }
            var parts = output.Trim().Split(' ');
            long peak = long.Parse(parts[0], CultureInfo.InvariantCulture);
            int analysed = int.Parse(parts[1], CultureInfo.InvariantCulture), total = int.Parse(parts[2], CultureInfo.InvariantCulture);
            double analyseSeconds = double.Parse(parts[3], CultureInfo.InvariantCulture);
            long largest = Vocab * Hidden * 4;   // lm_head in float32 is the largest matrix, whether it is analysed or not
            long bound = 3 * largest + 300_000_000;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                ### spectrum-7b ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average before {loadBefore}, after {LoadAverage()})
                `dotnet run -c Release --project tools/WeightSpace.Benchmarks -- spectrum-7b{(blocks != 32 ? $" --blocks {blocks}" : "")}{(parallel != 1 ? $" --parallel {parallel}" : "")}`

                | quantity | value | target |
                |---|---|---|
                | checkpoint | {blocks} blocks + embeddings + lm_head, BF16, {new FileInfo(model).Length / 1e9:F1} GB | 7B-shaped |
                | layers analysed / tensors | {analysed} / {total} | |
                | wall time of the child (start-up, open, analyse, exit) | **{seconds / 60:F2} min** | ≤ 10 min |
                | of which `SpectrumAnalyzer.Analyze` | {analyseSeconds / 60:F2} min | |
                | peak RSS of the child (VmHWM, incl. mapped pages) | **{peak / 1e6:F0} MB** | ≤ {bound / 1e6:F0} MB (3 × {largest / 1e6:F0} MB + 300 MB) |
                """));
            return seconds <= 600 && peak <= bound ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The analysis as <c>weightspace spectrum MODEL</c> runs it by default; prints peak RSS, analysed layers,
    /// tensors and the analysis' seconds.</summary>
    private static int Child(string model, int parallel)
    {
        using var store = Checkpoint.Open(model);
        var options = new SpectrumOptions
        {
            WeightWatcherCompat = true, Estimator = PowerLawEstimator.WeightWatcher, Solver = SpectralSolverKind.Gram, KeepEigenvalues = false,
            MaxDegreeOfParallelism = parallel,
        };
        var watch = Stopwatch.StartNew();
        var report = SpectrumAnalyzer.Analyze(store, options);
        double seconds = watch.Elapsed.TotalSeconds;
        int analysed = report.Layers.Count(l => l.Status == LayerStatus.Ok);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ProcessMemory.PeakResidentBytes()} {analysed} {store.Tensors.Count} {seconds:F1}"));
        return 0;
    }

    private static string Generate(string dir, int blocks)
    {
        var tensors = new List<TensorInfo> { new("model.embed_tokens.weight", DType.BF16, new Shape([Vocab, Hidden])) };
        for (int b = 0; b < blocks; b++)
        {
            string p = $"model.layers.{b}.";
            foreach (string n in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
                tensors.Add(new($"{p}self_attn.{n}.weight", DType.BF16, new Shape([Hidden, Hidden])));
            tensors.Add(new($"{p}mlp.gate_proj.weight", DType.BF16, new Shape([Intermediate, Hidden])));
            tensors.Add(new($"{p}mlp.up_proj.weight", DType.BF16, new Shape([Intermediate, Hidden])));
            tensors.Add(new($"{p}mlp.down_proj.weight", DType.BF16, new Shape([Hidden, Intermediate])));
            tensors.Add(new($"{p}input_layernorm.weight", DType.BF16, new Shape([Hidden])));
            tensors.Add(new($"{p}post_attention_layernorm.weight", DType.BF16, new Shape([Hidden])));
        }
        tensors.Add(new("model.norm.weight", DType.BF16, new Shape([Hidden])));
        tensors.Add(new("lm_head.weight", DType.BF16, new Shape([Vocab, Hidden])));
        string path = Path.Combine(dir, "model.safetensors");
        var generator = new Generator(1234);
        using var writer = SafetensorsWriter.Create(path, tensors);
        foreach (var t in tensors)
        {
            using var scope = NewDisposeScope();
            long[] dims = t.Shape.ToArray();
            var values = dims.Length == 1 ? ones(dims) : randn(dims, generator: generator).mul_(1 / Math.Sqrt(dims[1]));
            writer.Write(t.Name, values.data<float>().ToArray());
        }
        writer.Commit();
        return path;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
