using System.Diagnostics;
using System.Runtime.InteropServices;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Protection;

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

    /// <summary>Refuses a non-empty existing output directory without --force (exit 2), before any work.</summary>
    public static void CheckOutput(string output, bool force)
    {
        if (File.Exists(output)) throw new UsageException($"-o '{output}' is a file; give a directory");
        if (!force && Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new UsageException($"-o '{output}' exists and is not empty; pass --force to replace it");
    }

    /// <summary><c>--no-outlier-check</c> and <c>--protect-outliers</c> of the verbs that may trim task vectors.</summary>
    public static (Option<bool> NoCheck, Option<bool> Protect) OutlierOptions() =>
        (new Option<bool>("--no-outlier-check") { Description = "Do not scan the inputs' down_proj outlier weights (super-weight candidates) for values a trim (density < 1, gamma > 0) changes." },
         new Option<bool>("--protect-outliers") { Description = "Write the untrimmed merge's value at every outlier weight the trim changed (WeightSpace only; mergekit has no such option)." });

    /// <summary>The outlier check the options ask for: null with --no-outlier-check.</summary>
    public static OutlierGuardOptions? OutlierGuard(bool noCheck, bool protect)
    {
        if (noCheck && protect) throw new UsageException("--no-outlier-check and --protect-outliers contradict each other");
        return noCheck ? null : new OutlierGuardOptions { Protect = protect };
    }

    /// <summary>Writes <paramref name="plan"/> into <paramref name="output"/> and prints the summary; with a trimming method and
    /// <paramref name="outlierGuard"/>, also a warning per input outlier weight the trim changed (null skips the check).</summary>
    public static int Write(CliContext context, MergePlan plan, string output, MergeDirectoryOptions options, bool json, string verb, bool quiet = false,
        OutlierGuardOptions? outlierGuard = null)
    {
        // Ctrl+C or SIGTERM stop the run between tensors, so MergeDirectory deletes its staging directory and nothing
        // half-written is left; the process then exits 130 through Guard.
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        try { return WriteCore(context, plan, output, options, json, verb, quiet, outlierGuard, cts.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    private static int WriteCore(CliContext context, MergePlan plan, string output, MergeDirectoryOptions options, bool json, string verb, bool quiet,
        OutlierGuardOptions? outlierGuard, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        long total = plan.Outputs.Sum(o => o.ByteCount);
        var guard = outlierGuard is not null && Analysis.Merging.Protection.OutlierGuard.Applies(plan) ? Analysis.Merging.Protection.OutlierGuard.Prepare(plan, outlierGuard, ct) : null;
        IReadOnlyList<string> Run(IProgress<MergeProgress>? progress) => guard is null
            ? MergeDirectory.Write(plan, output, options, progress, ct)
            : MergeDirectory.Write(plan.Outputs, (sink, token) =>
            {
                MergeRunner.Run(plan, guard.Wrap(sink), options.MaxParallelism, progress, token);
                return null;
            }, output, options, ct);
        var files = quiet ? Run(null) : ProgressBars.Run<MergeProgress, IReadOnlyList<string>>(context, $"{verb} 0/{plan.Tensors.Count} tensors", total,
            Run, p => p.BytesDone, p => $"{verb} {p.TensorsDone}/{p.TensorCount} tensors", bytes: true);
        double seconds = watch.Elapsed.TotalSeconds;
        var changes = guard?.Changes ?? [];
        foreach (var c in changes) context.Error.WriteLine($"warning: {OutlierWarning(plan.Method.Name, c)}");
        if (json)
        {
            JsonStdout.WriteObject(context, w =>
            {
                w.WriteString("output", Path.GetFullPath(output));
                w.WriteString("method", plan.Method.Name);
                w.WriteNumber("tensors", plan.Tensors.Count);
                w.WriteNumber("bytes", total);
                w.WriteNumber("seconds", Math.Round(seconds, 3));
                w.WriteStringArray("files", files);
                if (guard is not null)
                {
                    w.WriteNumber("outliers_watched", guard.WatchedCount);
                    w.WriteObjectArray("outlier_warnings", changes, (w, c) =>
                    {
                        w.WriteRecordProperties(c with { RatioToRms = Math.Round(c.RatioToRms, 3) });
                        w.WriteString("message", OutlierWarning(plan.Method.Name, c));
                    });
                }
            });
        }
        else
        {
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output}: {plan.Method.Name}, {plan.Tensors.Count} tensors, {CliValues.FormatBytes(total)} in {seconds:F1} s ({string.Join(", ", files)})"));
        }
        return WeightSpaceCommandLine.Ok;
    }

    /// <summary>One line: which outlier, what the trim made of it, and what was written.</summary>
    public static string OutlierWarning(string method, OutlierChange c)
    {
        var inv = CultureInfo.InvariantCulture;
        string what = c.MergedValue == 0 ? "zeroed it"
            : c.BaseValue == c.MergedValue ? string.Create(inv, $"left the base's {c.MergedValue:G6}")
            : string.Create(inv, $"made it {c.MergedValue:G6}");
        string written = c.Protected ? string.Create(inv, $"kept {c.UntrimmedValue:G6} (--protect-outliers)") : "pass --protect-outliers to keep the untrimmed value";
        return string.Create(inv, $"{method}: the trim changed outlier {c.Tensor}[{c.Row}, {c.Column}] ({c.OutlierValue:G6} in {c.Model}, {c.RatioToRms:F1} × RMS): it {what} where the untrimmed merge gives {c.UntrimmedValue:G6}; {written}");
    }
}
