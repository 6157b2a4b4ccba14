using System.Diagnostics;

namespace WeightSpace.Analysis.Cluster;

/// <summary>A sharded per-tensor analysis as a Slurm job array plus a combine job: the scripts, and their submission
/// with <c>sbatch</c>.</summary>
/// <remarks>Array task <c>k</c> runs the analysis with <c>--shard (k+1)/N --part PARTS/part-k.json</c> and skips
/// itself when that part already exists, so resubmitting a run redoes only the shards that did not finish. The combine
/// job depends on the array with <c>afterany</c>, not <c>afterok</c>: with <c>afterok</c> a failed task leaves it
/// pending forever (DependencyNeverSatisfied) and nobody is told; with <c>afterany</c> it runs, and <c>combine</c>
/// refuses with a message naming each missing part and the log of its task.</remarks>
public static partial class SlurmJob
{
    /// <summary>Name of the array script in the run folder.</summary>
    public const string ArrayScriptName = "array.sbatch";
    /// <summary>Name of the combine script in the run folder.</summary>
    public const string CombineScriptName = "combine.sbatch";
    /// <summary>Name of the combined result in the run folder.</summary>
    public const string ResultName = "result.json";

    /// <summary>The part file of 0-based shard <paramref name="index"/>.</summary>
    public static string PartPath(string outputDirectory, int index) =>
        Path.Combine(outputDirectory, "parts", string.Create(CultureInfo.InvariantCulture, $"part-{index:D5}.json"));

    /// <summary>The log file of 0-based array task <paramref name="index"/>.</summary>
    public static string LogPath(string outputDirectory, int index) =>
        Path.Combine(outputDirectory, "logs", string.Create(CultureInfo.InvariantCulture, $"task-{index:D5}.log"));

    /// <summary>Builds both scripts for the analysis <paramref name="verb"/> with <paramref name="arguments"/>.</summary>
    /// <param name="verb">A WeightSpace verb that takes <c>--shard</c> and <c>--part</c> (e.g. <c>spectrum</c>, <c>diff</c>, or
    /// the two words <c>lora extract</c>, separated by a space).</param>
    /// <param name="arguments">The verb's arguments, without <c>--shard</c>/<c>--part</c>; paths absolute.</param>
    /// <param name="options">Resources and folders.</param>
    public static SlurmScripts Prepare(string verb, IReadOnlyList<string> arguments, SlurmJobOptions options)
    {
        if (options.ArrayCount is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(options), options.ArrayCount, "--array must be 1 to 100000");
        string dir = Path.GetFullPath(options.OutputDirectory);
        int n = options.ArrayCount;
        var ws = string.Join(' ', options.WeightSpaceCommand.Select(Quote));

        var array = new StringBuilder();
        array.Append("#!/bin/bash\n");
        array.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=ws-{Sanitize(verb)}\n");
        array.Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{n - 1}\n");
        array.Append(CultureInfo.InvariantCulture, $"#SBATCH --output={dir}/logs/task-%5a.log\n");
        AppendResources(array, options);
        array.Append("set -euo pipefail\n");
        foreach (var line in options.Setup) array.Append(line).Append('\n');
        array.Append(CultureInfo.InvariantCulture, $"n={n}\n");
        array.Append("k=${SLURM_ARRAY_TASK_ID:?not inside a Slurm array task}\n");
        array.Append(CultureInfo.InvariantCulture, $"part=$(printf '{EscapeForPrintf(dir)}/parts/part-%05d.json' \"$k\")\n");
        array.Append("# A shard that finished on an earlier submission is not redone.\n");
        array.Append("if [ -s \"$part\" ]; then echo \"shard $((k + 1))/$n already done: $part\"; exit 0; fi\n");
        array.Append("echo \"shard $((k + 1))/$n on $(hostname) at $(date -u +%FT%TZ)\"\n");
        string verbWords = string.Join(' ', verb.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Quote));
        array.Append(CultureInfo.InvariantCulture, $"exec {ws} {verbWords} {string.Join(' ', arguments.Select(Quote))} --shard \"$((k + 1))/$n\" --part \"$part\"\n");

        var combine = new StringBuilder();
        combine.Append("#!/bin/bash\n");
        combine.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=ws-{Sanitize(verb)}-combine\n");
        combine.Append(CultureInfo.InvariantCulture, $"#SBATCH --output={dir}/logs/combine.log\n");
        AppendResources(combine, options with { CpusPerTask = 1 });
        combine.Append("set -euo pipefail\n");
        foreach (var line in options.Setup) combine.Append(line).Append('\n');
        var parts = Enumerable.Range(0, n).Select(i => Quote(PartPath(dir, i)));
        combine.Append(CultureInfo.InvariantCulture, $"exec {ws} combine --expect {n} --logs {Quote(Path.Combine(dir, "logs"))} -o {Quote(Path.Combine(dir, options.CombineOutputName))} {string.Join(' ', options.CombineArguments.Select(Quote))} {string.Join(' ', parts)}\n");
        return new SlurmScripts(dir, array.ToString(), combine.ToString());
    }

    /// <summary>Writes the scripts and the <c>parts/</c> and <c>logs/</c> folders.</summary>
    public static void Write(SlurmScripts scripts)
    {
        Directory.CreateDirectory(Path.Combine(scripts.Directory, "parts"));
        Directory.CreateDirectory(Path.Combine(scripts.Directory, "logs"));
        WriteScript(scripts.ArrayScriptPath, scripts.ArrayScript);
        WriteScript(scripts.CombineScriptPath, scripts.CombineScript);
    }

    /// <summary>Submits the array, then the combine job depending on it.</summary>
    /// <param name="scripts">Written scripts.</param>
    /// <param name="sbatch">The <c>sbatch</c> executable (found on PATH if just the name).</param>
    /// <exception cref="SlurmException"><c>sbatch</c> is absent or refused a script; the message has its stderr.</exception>
    public static SlurmSubmission Submit(SlurmScripts scripts, string sbatch = "sbatch")
    {
        string arrayId = RunSbatch(sbatch, [scripts.ArrayScriptPath]);
        string combineId = RunSbatch(sbatch, [$"--dependency=afterany:{arrayId}", scripts.CombineScriptPath]);
        return new SlurmSubmission(arrayId, combineId);
    }

    private static void AppendResources(StringBuilder script, SlurmJobOptions options)
    {
        if (options.Partition is { } p) script.Append("#SBATCH --partition=").Append(CheckWord(p, "--partition")).Append('\n');
        if (options.Time is { } t) script.Append("#SBATCH --time=").Append(CheckWord(t, "--time")).Append('\n');
        if (options.CpusPerTask is { } c) script.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={c}\n");
        if (options.Memory is { } m) script.Append("#SBATCH --mem=").Append(CheckWord(m, "--mem")).Append('\n');
        if (options.Account is { } a) script.Append("#SBATCH --account=").Append(CheckWord(a, "--account")).Append('\n');
    }

    // #SBATCH lines are not parsed by a shell: values must be single words without quotes.
    private static string CheckWord(string value, string option) =>
        SbatchWord().IsMatch(value) ? value : throw new ArgumentException($"{option} '{value}': only letters, digits and -_.:,+@ are allowed", option);

    private static string RunSbatch(string sbatch, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(sbatch) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("--parsable");
        foreach (var a in args) info.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(info) ?? throw new SlurmException($"{sbatch}: could not be started"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SlurmException($"{sbatch}: not found ({e.Message}); run on a Slurm login node, or use --dry-run to write the scripts only", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            string output = stdout.Result.Trim();
            if (process.ExitCode != 0)
                throw new SlurmException($"{sbatch} {string.Join(' ', info.ArgumentList)}: exit {process.ExitCode}: {OneLine(stderr)}");
            // --parsable prints "jobid" or "jobid;cluster".
            string id = output.Split(';')[0];
            if (!JobId().IsMatch(id)) throw new SlurmException($"{sbatch}: unexpected output '{OneLine(output)}' (expected a job id)");
            return id;
        }
    }

    private static void WriteScript(string path, string text)
    {
        // Executable before it is published: sbatch may read the script the moment it has its name.
        string temp = AtomicFile.TempPathFor(path);
        try
        {
            File.WriteAllText(temp, text);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
            AtomicFile.Commit(temp, path);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>POSIX shell single-quoting.</summary>
    internal static string Quote(string word) =>
        word.Length > 0 && word.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_./=:,+@%".Contains(ch)) ? word : "'" + word.Replace("'", "'\\''") + "'";

    private static string EscapeForPrintf(string text) => text.Replace("'", "'\\''").Replace("%", "%%").Replace("\\", "\\\\");

    private static string Sanitize(string verb) => new(verb.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-').ToArray());

    private static string OneLine(string text) => string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    [GeneratedRegex(@"^[A-Za-z0-9_.:,+@\-]+$")]
    private static partial Regex SbatchWord();

    [GeneratedRegex(@"^[0-9]+$")]
    private static partial Regex JobId();
}
