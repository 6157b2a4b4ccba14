using System.Diagnostics;
using System.Globalization;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Benchmarks;

/// <summary><c>slurm-scaling</c>: a sharded spectrum run on a one-node Slurm (tools/slurm/local-cluster.sh) with 1, 2
/// and 4 array tasks against a single process over the same generated checkpoint, and the per-matrix cost of the
/// Gram eigenvalue path, from which the time of 70B- and 400B-shaped models is projected (docs/cluster.md).</summary>
internal static class SlurmScalingBenchmark
{
    public static int Run(string[] args)
    {
        string weightspace = Arg(args, "--weightspace") ?? throw new ArgumentException("--weightspace PATH (the built weightspace executable) is required");
        int matrices = int.Parse(Arg(args, "--matrices") ?? "16", CultureInfo.InvariantCulture);
        int size = int.Parse(Arg(args, "--size") ?? "1024", CultureInfo.InvariantCulture);
        string dir = Path.Combine(Path.GetTempPath(), "ws-slurm-scaling-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string model = Path.Combine(dir, "model.safetensors");
        var random = new Random(7);
        using (var store = new InMemoryTensorStore())
        {
            for (int i = 0; i < matrices; i++)
            {
                int rows = i % 4 == 3 ? 2 * size : size;   // a mix of shapes, as in a transformer block
                var values = new float[rows * size];
                for (int k = 0; k < values.Length; k++) values[k] = (float)(random.NextDouble() * 2 - 1);
                store.Add($"layers.{i}.weight", values, rows, size);
            }
            SafetensorsWriter.Copy(store, model);
        }
        string cluster = Path.Combine(dir, "slurm");
        string script = Path.Combine(FindRoot(), "tools", "slurm", "local-cluster.sh");
        Exec("bash", [script, "start", cluster], null);
        string conf = Path.Combine(cluster, "slurm.conf");
        try
        {
            var single = Stopwatch.StartNew();
            Exec(weightspace, ["spectrum", model, "--threads", "1", "--json"], null, quiet: true);
            double singleSeconds = single.Elapsed.TotalSeconds;
            Console.WriteLine($"| tasks | wall time (s), submit → result.json | speed-up vs 1 task |");
            Console.WriteLine($"|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| single process, 1 thread | {singleSeconds:F1} | – |"));
            double? one = null;
            foreach (int n in new[] { 1, 2, 4 })
            {
                string run = Path.Combine(dir, $"run{n}");
                var clock = Stopwatch.StartNew();
                Exec(weightspace, ["slurm", "spectrum", model, "--threads", "1", "--array", n.ToString(CultureInfo.InvariantCulture), "--cpus-per-task", "1", "-o", run, "--weightspace", weightspace], conf, quiet: true);
                string result = Path.Combine(run, "result.json");
                while (!File.Exists(result))
                {
                    if (clock.Elapsed > TimeSpan.FromMinutes(20)) throw new TimeoutException($"{result} did not appear");
                    Thread.Sleep(100);
                }
                double seconds = clock.Elapsed.TotalSeconds;
                one ??= seconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {seconds:F1} | {one.Value / seconds:F2} |"));
            }
        }
        finally
        {
            Exec("bash", [script, "stop", cluster], null);
        }

        // Per-matrix cost of the eigenvalue path at LLM shapes, measured here, for the projections.
        Console.WriteLine();
        Console.WriteLine("| shape | Gram + eigvalsh, 1 thread (s) | s per 10¹² m·n·min(m,n) |");
        Console.WriteLine("|---|---|---|");
        double rate = 0;
        foreach (var (m, n) in new[] { (2048, 2048), (4096, 2048) })
        {
            var values = new float[m * n];
            for (int k = 0; k < values.Length; k++) values[k] = (float)(random.NextDouble() * 2 - 1);
            var clock = Stopwatch.StartNew();
            SpectrumAnalyzer.AnalyzeMatrix("w", values, m, n, new SpectrumOptions { TorchThreads = 1 });
            double s = clock.Elapsed.TotalSeconds;
            double units = (double)m * n * Math.Min(m, n) / 1e12;
            rate = s / units;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m}×{n} | {s:F2} | {rate:F1} |"));
        }
        Console.WriteLine();
        foreach (var (name, layers, hidden, inter, kv) in new[] { ("Llama-2-70B", 80, 8192, 28672, 1024), ("Llama-3.1-405B", 126, 16384, 53248, 1024) })
        {
            double perLayer = 2 * Cost(hidden, hidden) + 2 * Cost(kv, hidden) + 3 * Cost(inter, hidden);
            double coreHours = layers * perLayer / 1e12 * rate / 3600;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {layers} blocks × 7 matrices ≈ {coreHours:F1} core-hours of solves at the measured rate; 64 tasks × 8 cores ≈ {coreHours * 60 / 512:F0} min + I/O"));
        }
        Directory.Delete(dir, recursive: true);
        return 0;
    }

    private static double Cost(double m, double n) => m * n * Math.Min(m, n);

    private static void Exec(string file, string[] args, string? slurmConf, bool quiet = false)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = quiet };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (slurmConf is not null) info.Environment["SLURM_CONF"] = slurmConf;
        using var p = Process.Start(info)!;
        if (quiet) p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}");
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "WeightSpace.sln"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
