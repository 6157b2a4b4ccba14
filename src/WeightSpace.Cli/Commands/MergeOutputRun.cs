using System.Diagnostics;
using System.Globalization;
using System.CommandLine;
using System.Runtime.InteropServices;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Cli.Commands;

/// <summary>What <c>merge</c> and <c>taskvec</c> share: the shard-size option, the output directory check, Ctrl+C
/// handling, the progress bar, and the summary line or JSON.</summary>
internal static class MergeOutputRun
{
    /// <summary><c>--shard-size</c> of the verbs that write a model directory.</summary>
    public static Option<long?> ShardSizeOption() =>
        CommonOptions.Size("--shard-size", "Largest shard (e.g. 5B or 5GB = 5·10⁹ bytes, 500MB, 512MiB); smaller outputs are one model.safetensors. Default 5GB.");

    /// <summary><c>--max-ram</c> of <c>merge</c> and <c>taskvec</c> (docs/merging.md, "Memory").</summary>
    public static Option<long?> MaxRamOption() =>
        CommonOptions.Size("--max-ram", "Cap on the merge's working set (e.g. 4GB, 512MiB): tensors run side by side only while their float32 working sets fit; "
            + "a tensor that alone needs more is refused (exit 1) before anything is written. Default: no cap beyond the largest tensor's.");

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

    /// <summary>Writes <paramref name="plan"/> into <paramref name="output"/> and prints the summary.</summary>
    public static int Write(CliContext context, MergePlan plan, string output, MergeDirectoryOptions options, bool json, string verb, bool quiet = false)
    {
        // Ctrl+C or SIGTERM stop the run between tensors, so MergeDirectory deletes its staging directory and nothing
        // half-written is left; the process then exits 130 through Guard.
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        try { return WriteCore(context, plan, output, options, json, verb, quiet, cts.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    private static int WriteCore(CliContext context, MergePlan plan, string output, MergeDirectoryOptions options, bool json, string verb, bool quiet, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        long total = plan.Outputs.Sum(o => o.ByteCount);
        var files = quiet ? MergeDirectory.Write(plan, output, options, null, ct) : ProgressBars.Run<MergeProgress, IReadOnlyList<string>>(context, $"{verb} 0/{plan.Tensors.Count} tensors", total,
            progress => MergeDirectory.Write(plan, output, options, progress, ct),
            p => p.BytesDone, p => $"{verb} {p.TensorsDone}/{p.TensorCount} tensors", bytes: true);
        double seconds = watch.Elapsed.TotalSeconds;
        if (json)
        {
            JsonStdout.WriteObject(context, w =>
            {
                w.WriteString("output", Path.GetFullPath(output));
                w.WriteString("method", plan.Method.Name);
                w.WriteNumber("tensors", plan.Tensors.Count);
                w.WriteNumber("bytes", total);
                w.WriteNumber("seconds", Math.Round(seconds, 3));
                w.WriteStartArray("files");
                foreach (string f in files) w.WriteStringValue(f);
                w.WriteEndArray();
            });
        }
        else
        {
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output}: {plan.Method.Name}, {plan.Tensors.Count} tensors, {CliValues.FormatBytes(total)} in {seconds:F1} s ({string.Join(", ", files)})"));
        }
        return WeightSpaceCommandLine.Ok;
    }
}
