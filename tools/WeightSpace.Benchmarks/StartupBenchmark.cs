using System.Diagnostics;
using System.Globalization;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 11's start-up target: a 1 GiB <c>weightspace inspect --stats</c>, as a fresh process, within 1.25× of
/// <c>cat</c> of the same file plus the process start of <c>weightspace --help</c>. Every measurement is a whole
/// process (wall clock, page cache warm), the three alternate in each round and the medians are compared. Runtime
/// settings are compared the same way by running the same binary under DOTNET_* environment variables.
/// </summary>
internal static class StartupBenchmark
{
    private static readonly (string Name, string[] Env)[] Configurations =
    [
        ("as built", []),
        ("ReadyToRun code ignored (DOTNET_ReadyToRun=0)", ["DOTNET_ReadyToRun=0"]),
        ("TieredPGO off (DOTNET_TieredPGO=0)", ["DOTNET_TieredPGO=0"]),
        ("loops start optimised (DOTNET_TC_QuickJitForLoops=0)", ["DOTNET_TC_QuickJitForLoops=0"]),
        ("tiered compilation off (DOTNET_TieredCompilation=0)", ["DOTNET_TieredCompilation=0"]),
    ];

    public static int Run(string[] args)
    {
        string cli = Option(args, "--cli") ?? throw new ArgumentException("--cli <path to the weightspace executable> is required");
        int rounds = int.Parse(Option(args, "--rounds") ?? "7", CultureInfo.InvariantCulture);
        bool all = args.Contains("--configurations");
        string dir = Option(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "weightspace-bench");
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, "startup-1gib.safetensors");
        Generate(file);
        long bytes = new FileInfo(file).Length;

        var configs = all ? Configurations : Configurations[..1];
        var cat = new List<double>();
        var help = configs.Select(_ => new List<double>()).ToArray();
        var stats = configs.Select(_ => new List<double>()).ToArray();
        RunProcess("cat", [file], []);                          // warm the page cache
        RunProcess(cli, ["inspect", "--stats", file], []);      // and the CLI's files
        for (int r = 0; r < rounds; r++)
        {
            cat.Add(RunProcess("cat", [file], []));
            for (int c = 0; c < configs.Length; c++)
            {
                help[c].Add(RunProcess(cli, ["--help"], configs[c].Env));
                stats[c].Add(RunProcess(cli, ["inspect", "--stats", file], configs[c].Env));
            }
        }

        double catS = Median(cat);
        Console.WriteLine($"""
            ### 1 GiB `inspect --stats` against `cat` + process start ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {rounds} rounds, medians)
            `dotnet run -c Release --project tools/WeightSpace.Benchmarks -- startup --cli {cli}{(all ? " --configurations" : "")} --rounds {rounds}`

            file: {bytes / (double)(1 << 30):F2} GiB F32 safetensors; `cat` of it: **{catS:F3} s**

            | runtime configuration | `weightspace --help` | `inspect --stats` | **inspect / (cat + help)** (target ≤ 1.25) |
            |---|---:|---:|---:|
            """);
        for (int c = 0; c < configs.Length; c++)
        {
            double h = Median(help[c]), s = Median(stats[c]);
            Console.WriteLine($"| {configs[c].Name} | {h:F3} s | {s:F3} s | **{s / (catS + h):F2}** |");
        }
        Console.WriteLine($"\nload average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    // Wall-clock seconds of one process run to completion, stdout discarded (as `> /dev/null` would).
    private static double RunProcess(string exe, string[] args, string[] env)
    {
        var info = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string kv in env)
        {
            int eq = kv.IndexOf('=');
            info.Environment[kv[..eq]] = kv[(eq + 1)..];
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var drainOut = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var drainErr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        drainOut.Wait();
        double seconds = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} exited {process.ExitCode}: {drainErr.Result}");
        return seconds;
    }

    // 1 GiB of F32: 8 projections of 4096×8192 (an LLM's MLP shape), 1 GiB of data plus the header.
    private static void Generate(string path)
    {
        if (File.Exists(path)) return;
        var tensors = new List<TensorInfo>();
        for (int i = 0; i < 8; i++) tensors.Add(new TensorInfo($"model.layers.{i}.mlp.weight", DType.F32, new Shape(4096, 8192)));
        var rng = new Random(42);
        var block = new float[1 << 20];
        for (int i = 0; i < block.Length; i++) block[i] = (float)((rng.NextDouble() - 0.5) * 0.04);
        using var writer = SafetensorsWriter.Create(path, tensors);   // atomic: nothing at path until Commit
        foreach (var t in tensors)
            for (long off = 0; off < t.ElementCount; off += block.Length)
                writer.Write(t.Name, off * 4, System.Runtime.InteropServices.MemoryMarshal.AsBytes(block.AsSpan(0, (int)Math.Min(block.Length, t.ElementCount - off))));
        writer.Commit();
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
