using System.Diagnostics;
using System.Globalization;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 7's targets: analysing every layer of a checkpoint (<see cref="SpectrumAnalyzer.Analyze"/>: read, SVD, power
/// law, MP fit, ranks, summary) costs ≤ 1.15× reading the same layers and calling bare <c>linalg.svdvals</c>
/// (<see cref="SpectrumAnalyzer.LayerMatrices"/> + <see cref="SpectrumAnalyzer.SingularValues"/>), same precision and
/// threads, measured alternately in one run; and the KS/x_min search on 4096 eigenvalues costs well under the SVD of
/// the 4096×4096 matrix they come from.
/// </summary>
/// <remarks>The checkpoint is generated (seeded) in a temp folder: Gaussian noise plus a few rank-one spikes per
/// layer, so the MP fit and the power-law search see a bulk and outliers as in trained layers.</remarks>
internal static class SpectrumBenchmark
{
    public static int Run(string[] args)
    {
        int rounds = int.Parse(Option(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        bool skipBig = args.Contains("--no-4096");
        int threads = int.Parse(Option(args, "--threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        string dir = Path.Combine(Path.GetTempPath(), $"weightspace-spectrum-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "layers.safetensors");
            var shapes = new (string Name, long[] Shape)[]
            {
                ("layers.0.attn.q.weight", [1024, 1024]), ("layers.0.attn.k.weight", [1024, 1024]),
                ("layers.0.attn.v.weight", [1024, 1024]), ("layers.0.attn.o.weight", [1024, 1024]),
                ("layers.0.mlp.up.weight", [4096, 1024]), ("layers.0.mlp.down.weight", [1024, 4096]),
                ("conv.weight", [256, 128, 3, 3]), ("layers.0.norm.weight", [1024]),
            };
            Generate(path, shapes);
            var options = new SpectrumOptions { Precision = SpectrumPrecision.Float32, KeepEigenvalues = false, TorchThreads = threads };

            // Analyze sets torch's process-wide thread count for its call; the bare loop must run with the same one.
            TorchSharp.torch.set_num_threads(threads);
            using var store = Checkpoint.Open(path);
            int analysed = 0;
            BareSvds(store, options);                                     // warm-up: page cache, torch init, JIT
            analysed = SpectrumAnalyzer.Analyze(store, options).Summary.LayersOk;
            // Alternate the order and pair the rounds: on a shared machine the load changes between rounds, so the
            // median of per-round ratios is steadier than a ratio of medians. CPU time of the process is also kept:
            // with one torch thread it does not count time spent waiting for a core.
            var analyze = new List<double>();
            var bare = new List<double>();
            var analyzeCpu = new List<double>();
            var bareCpu = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                void RunBare() { var (w, c) = TimeBoth(() => BareSvds(store, options)); bare.Add(w); bareCpu.Add(c); }
                void RunAnalyze() { var (w, c) = TimeBoth(() => SpectrumAnalyzer.Analyze(store, options)); analyze.Add(w); analyzeCpu.Add(c); }
                if (r % 2 == 0) { RunBare(); RunAnalyze(); } else { RunAnalyze(); RunBare(); }
            }
            double analyzeS = Median(analyze), bareS = Median(bare);
            double pairedWall = Median(analyze.Zip(bare, (a, b) => a / b).ToList());
            double pairedCpu = Median(analyzeCpu.Zip(bareCpu, (a, b) => a / b).ToList());

            string big = "";
            if (!skipBig)
            {
                var (svdS, ksS, ksFingersS, tail) = KsVersusSvd(dir, options);
                big = string.Create(CultureInfo.InvariantCulture, $"""

                    | 4096 eigenvalues (4096×4096 float32, Gaussian + 8 spikes) | time |
                    |---|---|
                    | `linalg.svdvals` of the matrix | {svdS:F2} s |
                    | `PowerLawFit.Fit` (KS/x_min search, {tail} tail evals) | {ksS * 1000:F1} ms ({100 * ksS / svdS:F2}% of the SVD) |
                    | `PowerLawFit.Fit` with fingers fix (≤ 10) | {ksFingersS * 1000:F1} ms ({100 * ksFingersS / svdS:F2}% of the SVD) |
                    """);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                ### spectrum ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, torch threads {options.TorchThreads}, load average {LoadAverage()})
                | measure | value |
                |---|---|
                | checkpoint | {shapes.Length} tensors ({analysed} analysed): 4×[1024,1024], [4096,1024], [1024,4096], conv [256,128,3,3] (WW slices), a 1-D norm |
                | bare: `LayerMatrices` + `SingularValues`, median of {rounds} | {bareS:F3} s ({string.Join(", ", bare.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}) |
                | `SpectrumAnalyzer.Analyze`, median of {rounds} | {analyzeS:F3} s ({string.Join(", ", analyze.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}) |
                | ratio of medians (wall) | {analyzeS / bareS:F3} |
                | median of per-round ratios, wall (target ≤ 1.15) | **{pairedWall:F3}** |
                | median of per-round ratios, process CPU time | **{pairedCpu:F3}** ({string.Join(", ", analyzeCpu.Zip(bareCpu, (a, b) => (a / b).ToString("F3", CultureInfo.InvariantCulture)))}) |
                {big}
                """));
            return pairedWall <= 1.15 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void BareSvds(TensorStore store, SpectrumOptions options)
    {
        foreach (var matrix in SpectrumAnalyzer.LayerMatrices(store, options))
            SpectrumAnalyzer.SingularValues(matrix);
    }

    private static (double Svd, double Ks, double KsFingers, int Tail) KsVersusSvd(string dir, SpectrumOptions options)
    {
        string path = Path.Combine(dir, "square.safetensors");
        Generate(path, [("square.weight", [4096, 4096])]);
        using var store = Checkpoint.Open(path);
        var matrix = SpectrumAnalyzer.LayerMatrices(store, options).Single();
        double[] sigma = [];
        double svd = Time(() => sigma = SpectrumAnalyzer.SingularValues(matrix));
        var evals = sigma.Select(s => s * s).Order().ToArray();
        PowerLawFitResult? fit = null;
        double ks = Median(Enumerable.Range(0, 5).Select(_ => Time(() => fit = PowerLawFit.Fit(evals))).ToList());
        double fingers = Median(Enumerable.Range(0, 3).Select(_ => Time(() => PowerLawFit.Fit(evals, maxFingers: 10))).ToList());
        return (svd, ks, fingers, fit?.TailCount ?? 0);
    }

    /// <summary>Seeded N(0, 1/cols) entries plus 8 rank-one spikes of growing strength (2-D view [rows, rest]).</summary>
    private static void Generate(string path, (string Name, long[] Shape)[] shapes)
    {
        var infos = shapes.Select(s => new TensorInfo(s.Name, DType.F32, new Shape(s.Shape))).ToList();
        using var writer = SafetensorsWriter.Create(path, infos);
        var rng = new Random(7);
        foreach (var (name, shape) in shapes)
        {
            long rows = shape[0], cols = shape.Length == 1 ? 1 : shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            var values = new float[rows * cols];
            double std = 1 / Math.Sqrt(cols);
            for (int i = 0; i < values.Length; i++) values[i] = (float)(std * Gaussian(rng));
            if (shape.Length > 1)
                for (int k = 1; k <= 8; k++)
                {
                    var u = Enumerable.Range(0, (int)rows).Select(_ => Gaussian(rng) / Math.Sqrt(rows)).ToArray();
                    var v = Enumerable.Range(0, (int)cols).Select(_ => Gaussian(rng) / Math.Sqrt(cols)).ToArray();
                    double strength = 2.5 + k;   // above the bulk edge ≈ 1 + √(rows/cols)
                    for (long i = 0; i < rows; i++)
                        for (long j = 0; j < cols; j++) values[i * cols + j] += (float)(strength * u[i] * v[j]);
                }
            writer.Write(name, values);
        }
        writer.Commit();
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    private static (double Wall, double Cpu) TimeBoth(Action action)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        double wall = sw.Elapsed.TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
