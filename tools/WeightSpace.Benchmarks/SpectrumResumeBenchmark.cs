using System.Diagnostics;
using System.Globalization;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 17, "resumable": a run with <c>--cache</c> interrupted halfway (cancelled after half the tensors) and then
/// resumed costs ≤ 1.1× one uninterrupted run with a fresh cache, on a generated BF16 checkpoint. Rounds alternate
/// the two; the figure is the median of per-round ratios.
/// </summary>
internal static class SpectrumResumeBenchmark
{
    public static int Run(string[] args)
    {
        int rounds = int.Parse(Option(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        int threads = int.Parse(Option(args, "--threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int side = int.Parse(Option(args, "--side") ?? "1024", CultureInfo.InvariantCulture);
        string dir = Path.Combine(Path.GetTempPath(), $"weightspace-spectrum-resume-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string load = LoadAverage();
        try
        {
            string path = Path.Combine(dir, "model.safetensors");
            var shapes = new List<(string, long[])>();
            for (int b = 0; b < 4; b++)
            {
                shapes.Add(($"layers.{b}.q_proj.weight", [side, side]));
                shapes.Add(($"layers.{b}.up_proj.weight", [side * 11 / 4, side]));
                shapes.Add(($"layers.{b}.down_proj.weight", [side, side * 11 / 4]));
                shapes.Add(($"layers.{b}.norm.weight", [side]));
            }
            Generate(path, shapes);
            using var store = Checkpoint.Open(path);
            var options = new SpectrumOptions { KeepEigenvalues = false, TorchThreads = threads };
            int analysed = SpectrumAnalyzer.Analyze(store, options).Summary.LayersOk;   // warm-up
            var whole = new List<double>();
            var split = new List<double>();
            int run = 0;
            for (int r = 0; r < rounds; r++)
            {
                void Whole() => whole.Add(Time(() => SpectrumAnalyzer.Analyze(store, options with { CacheDirectory = Path.Combine(dir, $"c{run++}") })));
                void Split() => split.Add(Time(() =>
                {
                    string cache = Path.Combine(dir, $"c{run++}");
                    using var cts = new CancellationTokenSource();
                    var half = new StopAt(shapes.Count / 2, cts);
                    try { SpectrumAnalyzer.Analyze(store, options with { CacheDirectory = cache }, half, cts.Token); }
                    catch (OperationCanceledException) { }
                    SpectrumAnalyzer.Analyze(store, options with { CacheDirectory = cache });
                }));
                if (r % 2 == 0) { Whole(); Split(); } else { Split(); Whole(); }
            }
            double ratio = Median(split.Zip(whole, (s, w) => s / w).ToList());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                ### spectrum-resume ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, torch threads {threads}, load average before {load}, after {LoadAverage()})
                | measure | value |
                |---|---|
                | checkpoint | {shapes.Count} BF16 tensors ({analysed} analysed): 4 × ([{side},{side}], [{side * 11 / 4},{side}], [{side},{side * 11 / 4}], a norm) |
                | uninterrupted run with a fresh `--cache`, median of {rounds} | {Median(whole):F2} s ({Join(whole)}) |
                | cancelled after {shapes.Count / 2} tensors, then resumed, median of {rounds} | {Median(split):F2} s ({Join(split)}) |
                | median of per-round ratios (target ≤ 1.1) | **{ratio:F3}** |
                """));
            return ratio <= 1.1 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Cancels once <c>count</c> tensors have finished (reported synchronously on the analysing thread).</summary>
    private sealed class StopAt(int count, CancellationTokenSource cts) : IProgress<SpectrumProgress>
    {
        public void Report(SpectrumProgress value) { if (value.Done >= count) cts.Cancel(); }
    }

    private static void Generate(string path, List<(string Name, long[] Shape)> shapes)
    {
        var infos = shapes.Select(s => new TensorInfo(s.Name, DType.BF16, new Shape(s.Shape))).ToList();
        using var writer = SafetensorsWriter.Create(path, infos);
        var rng = new Random(5);
        foreach (var (name, shape) in shapes)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            double std = 1 / Math.Sqrt(shape[^1]);
            for (long i = 0; i < count; i++) values[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            writer.Write(name, values);
        }
        writer.Commit();
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    private static string Join(List<double> v) => string.Join(", ", v.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)));

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
