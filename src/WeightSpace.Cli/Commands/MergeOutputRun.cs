using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Formats;

namespace WeightSpace.Cli.Commands;

/// <summary>What <c>merge</c> and <c>taskvec</c> share: opening models up front, the output directory check, the
/// progress bar, and the summary line or JSON.</summary>
internal static class MergeOutputRun
{
    /// <summary>Opens every reference; all missing paths are reported together, before any model is read.</summary>
    public static Dictionary<string, TensorStore> OpenModels(IEnumerable<(string Reference, string Path)> models, List<IDisposable> owned)
    {
        var list = models.DistinctBy(m => m.Reference).ToList();
        var missing = list.Where(m => !File.Exists(m.Path) && !Directory.Exists(m.Path)).Select(m => m.Reference).ToList();
        if (missing.Count > 0)
            throw new MergeConfigException("model", null, $"not found: {string.Join(", ", missing.Select(m => $"'{m}'"))}");
        var stores = new Dictionary<string, TensorStore>(StringComparer.Ordinal);
        foreach (var (reference, path) in list)
        {
            var store = Checkpoint.Open(path);
            owned.Add(store);
            stores[reference] = store;
        }
        return stores;
    }

    /// <summary>The directory holding a model: itself if it is a directory, else the file's folder.</summary>
    public static string ModelDirectory(string path) =>
        Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";

    /// <summary>Refuses a non-empty existing output directory without --force (exit 2), before any work.</summary>
    public static void CheckOutput(string output, bool force)
    {
        if (File.Exists(output)) throw new UsageException($"-o '{output}' is a file; give a directory");
        if (!force && Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new UsageException($"-o '{output}' exists and is not empty; pass --force to replace it");
    }

    public static int ParseThreads(int threads) =>
        threads is >= 1 and <= 256 ? threads : throw new UsageException($"--threads {threads} must be between 1 and 256");

    public static int Write(CliContext context, MergePlan plan, string output, MergeDirectoryOptions options, bool json, string verb)
    {
        // Ctrl+C or SIGTERM stop the run between tensors, so MergeDirectory deletes its staging directory and nothing
        // half-written is left; the process then exits 130 through Guard.
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        try { return WriteCore(context, plan, output, options, json, verb, cts.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    private static int WriteCore(CliContext context, MergePlan plan, string output, MergeDirectoryOptions options, bool json, string verb, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        IReadOnlyList<string> files;
        long total = plan.Outputs.Sum(o => o.ByteCount);
        if (context.ErrorIsTerminal)
        {
            files = [];
            context.ErrorConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{verb} 0/{plan.Tensors.Count} tensors", maxValue: Math.Max(1, total));
                    var progress = new Progress<MergeProgress>(p =>
                    {
                        task.Value = p.BytesDone;
                        task.Description = $"{verb} {p.TensorsDone}/{p.TensorCount} tensors";
                    });
                    files = MergeDirectory.Write(plan, output, options, progress, ct);
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            files = MergeDirectory.Write(plan, output, options, ct: ct);
        }
        double seconds = watch.Elapsed.TotalSeconds;
        if (json)
        {
            context.Out.Flush();
            using var stdout = new StreamWriterStream(context.Out);
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("output", Path.GetFullPath(output));
            w.WriteString("method", plan.Method.Name);
            w.WriteNumber("tensors", plan.Tensors.Count);
            w.WriteNumber("bytes", total);
            w.WriteNumber("seconds", Math.Round(seconds, 3));
            w.WriteStartArray("files");
            foreach (string f in files) w.WriteStringValue(f);
            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            stdout.Write("\n"u8);
        }
        else
        {
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output}: {plan.Method.Name}, {plan.Tensors.Count} tensors, {InspectCommand.FormatBytes(total)} in {seconds:F1} s ({string.Join(", ", files)})"));
        }
        return WeightSpaceCommandLine.Ok;
    }
}
