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
        if (args.Contains("--projection-only"))
        {
            Project(random, Arg(args, "--projection-shapes") ?? "llm");
            Directory.Delete(dir, recursive: true);
            return 0;
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

        Project(random, Arg(args, "--projection-shapes") ?? "llm");
        Directory.Delete(dir, recursive: true);
        return 0;
    }

    /// <summary>Times the spectrum of one matrix of each of Llama-2-70B's block shapes (q/o 8192², k/v 1024×8192, gate/up
    /// 28672×8192; down is the transpose of gate/up and costs the same on the Gram path) on one torch thread, fits
    /// t = a·max·min² + b·min³ (the Gram product and the eigensolver) to them, and projects 70B and 405B from it.
    /// <c>--projection-shapes small</c> uses 2048/4096-sided matrices instead, for a quick check.</summary>
    private static void Project(Random random, string shapes)
    {
        var measured = shapes == "small"
            ? new[] { (2048, 2048), (4096, 2048), (512, 2048) }
            : new[] { (8192, 8192), (28672, 8192), (1024, 8192) };
        Console.WriteLine();
        Console.WriteLine("| shape | Gram + eigvalsh, 1 thread (s) |");
        Console.WriteLine("|---|---|");
        var rows = new List<(double Gram, double Eig, double Seconds)>();
        // libtorch's first solve pays its warm-up (thread pool, LAPACK workspaces): not timed.
        SpectrumAnalyzer.AnalyzeMatrix("warm-up", new float[512 * 512].AsSpan(), 512, 512, new SpectrumOptions { TorchThreads = 1 });
        foreach (var (m, n) in measured)
        {
            var values = new float[(long)m * n];
            for (long k = 0; k < values.LongLength; k++) values[k] = (float)(random.NextDouble() * 2 - 1);
            var clock = Stopwatch.StartNew();
            SpectrumAnalyzer.AnalyzeMatrix("w", values, m, n, new SpectrumOptions { TorchThreads = 1 });
            double s = clock.Elapsed.TotalSeconds;
            double small = Math.Min(m, n), large = Math.Max(m, n);
            rows.Add((large * small * small, small * small * small, s));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m}×{n} | {s:F2} |"));
        }
        // Least squares for t = a·G + b·E over the measured shapes (2×2 normal equations).
        double gg = rows.Sum(r => r.Gram * r.Gram), ge = rows.Sum(r => r.Gram * r.Eig), ee = rows.Sum(r => r.Eig * r.Eig);
        double gt = rows.Sum(r => r.Gram * r.Seconds), et = rows.Sum(r => r.Eig * r.Seconds);
        double det = gg * ee - ge * ge;
        double a = (gt * ee - et * ge) / det, b = (et * gg - gt * ge) / det;
        if (a < 0 || b < 0)
        {
            // A noisy run can make one term negative; fall back to one rate per m·n·min(m, n).
            a = rows.Sum(r => r.Seconds) / rows.Sum(r => r.Gram);
            b = 0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nfit: one term, {a * 1e12:F1} s per 10¹² m·n·min(m,n)"));
        }
        else
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\nfit: t ≈ {a * 1e12:F1} s per 10¹² max·min² (Gram) + {b * 1e12:F1} s per 10¹² min³ (eigvalsh); residuals {string.Join(", ", rows.Select(r => $"{r.Seconds - a * r.Gram - b * r.Eig:+0.00;-0.00} s"))}"));
        double Cost(double m, double n) { double s = Math.Min(m, n), l = Math.Max(m, n); return a * l * s * s + b * s * s * s; }
        Console.WriteLine();
        foreach (var (name, layers, hidden, inter, kv) in new[] { ("Llama-2-70B", 80, 8192, 28672, 1024), ("Llama-3.1-405B", 126, 16384, 53248, 1024) })
        {
            double perLayer = 2 * Cost(hidden, hidden) + 2 * Cost(kv, hidden) + 3 * Cost(inter, hidden);
            double coreHours = layers * perLayer / 3600;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {layers} blocks × 7 matrices, {perLayer:F0} s per block ≈ {coreHours:F1} core-hours of solves; 64 tasks × 8 cores ≈ {coreHours * 60 / 512:F0} min + I/O"));
        }
    }

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
