using WeightSpace.Analysis.Cluster;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace slurm VERB MODEL [VERB OPTIONS…] --array N [--partition P] [--time T] [--cpus-per-task C]
/// [--mem M] [--account A] [--weightspace PATH] [--setup LINE…] [--report FILE.html] [--dry-run] -o OUTDIR</c>:
/// a per-tensor analysis as a Slurm job array plus a combine job (issue #18).</summary>
internal static class SlurmCommand
{
    /// <summary>The verbs that take <c>--shard</c> and <c>--part</c>.</summary>
    private static readonly string[] ShardableVerbs = ["spectrum", "diff", "lora-extract", "neurons", "outliers"];

    /// <summary>The folder the combine of <c>lora-extract</c> writes the adapter into, in the run folder.</summary>
    internal const string AdapterFolderName = "adapter";

    public static Command Create(CliContext context)
    {
        var words = new Argument<string[]>("verb-and-arguments") { Description = "The analysis and its arguments as you would run it on one machine: VERB MODEL [options…] (verbs: spectrum, diff, lora-extract, neurons, outliers).", Arity = ArgumentArity.OneOrMore };
        var array = new Option<int>("--array") { Description = "Number of array tasks (shards).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Run folder on a filesystem every node sees: scripts, parts/, logs/, result.json.", Required = true };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition." };
        var time = new Option<string?>("--time") { Description = "Time limit per task (Slurm syntax, e.g. 02:00:00)." };
        var cpus = new Option<int?>("--cpus-per-task") { Description = "CPUs per task; the analysis uses them as its torch threads unless the verb's --threads says otherwise." };
        var mem = new Option<string?>("--mem") { Description = "Memory per task (Slurm syntax, e.g. 32G)." };
        var account = new Option<string?>("--account") { Description = "Slurm account to charge." };
        var weightspace = new Option<string?>("--weightspace") { Description = "The weightspace executable (or weightspace.dll) the nodes run; default: this one." };
        var setup = new Option<string[]>("--setup") { Description = "A shell line run before weightspace in every job (e.g. 'module load dotnet'); repeatable.", AllowMultipleArgumentsPerToken = false };
        var reportPath = new Option<string?>("--report") { Description = "The combine step also writes this HTML report." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the two scripts; write and submit nothing." };
        var sbatch = new Option<string>("--sbatch") { Description = "The sbatch command.", DefaultValueFactory = _ => "sbatch", Hidden = true };
        var command = new Command("slurm", """
            Run a per-tensor analysis across a Slurm cluster: a job array over shards of the checkpoint (balanced by
            estimated cost) and a combine job after it. Shards that finished on an earlier submission are skipped,
            so resubmitting the same command redoes only what failed. Options the verb takes are passed through.

            Examples:
              weightspace slurm spectrum /shared/llama-70b --array 64 --cpus-per-task 8 --mem 64G --time 01:00:00 -o /shared/runs/70b
              weightspace slurm spectrum model.safetensors --compat ww --array 4 -o run/ --dry-run
              weightspace slurm diff base/ ft-a/ ft-b/ --array 8 -o /shared/runs/diff      (result.json = diff --json)
              weightspace slurm diff model-f32.gguf model-Q4_K_M.gguf --array 8 -o run/    (quantisation error)
              weightspace slurm lora-extract base/ ft/ --rank 64 --array 16 -o run/        (run/adapter/ is the PEFT adapter)
              weightspace slurm neurons ft/ --against base/ --array 8 -o run/              (result.json = neurons --json)
              weightspace slurm outliers model/ --top 10 --array 4 -o run/                 (result.json = outliers --json)
              squeue --me                                   follow the jobs; the result lands in OUTDIR/result.json
            """) { words, array, output, partition, time, cpus, mem, account, weightspace, setup, reportPath, dryRun, sbatch };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            var given = pr.GetValue(words)!.Concat(pr.UnmatchedTokens).ToList();
            string verb = given[0];
            if (!ShardableVerbs.Contains(verb))
                throw new UsageException($"'{verb}' cannot run as a Slurm array; verbs that can: {string.Join(", ", ShardableVerbs)}");
            if (given.Count < 2) throw new UsageException($"slurm {verb}: give the model to analyse");
            if (verb == "lora-extract" && pr.GetValue(reportPath) is not null) throw new UsageException("slurm lora-extract writes an adapter folder; it has no --report");
            if (given.Any(w => w is "--shard" or "--part" or "--json" or "--csv" or "--plots" or "--report" || w.StartsWith("--shard=", StringComparison.Ordinal) || w.StartsWith("--part=", StringComparison.Ordinal)))
                throw new UsageException("slurm sets --shard and --part itself; outputs (--json, --csv, --plots) come from the combine step (--report here)");
            if (verb == "outliers" && given.Any(w => w is "--text" or "-t" || w.StartsWith("--text=", StringComparison.Ordinal)))
                throw new UsageException("slurm outliers: --text (the super weight) runs the whole model on text and cannot be split; run `outliers --text` on one machine");
            int n = pr.GetValue(array);
            if (n is < 1 or > 100_000) throw new UsageException($"--array {n} must be 1 to 100000");
            if (pr.GetValue(cpus) is < 1) throw new UsageException($"--cpus-per-task {pr.GetValue(cpus)} must be at least 1");
            // Nodes run in other folders: every argument that names an existing file or folder goes as an absolute path.
            var arguments = given.Skip(1).Select(w => File.Exists(w) || Directory.Exists(w) ? Path.GetFullPath(w) : w).ToList();
            if (pr.GetValue(cpus) is { } c && verb == "spectrum" && !arguments.Contains("--threads")) arguments.AddRange(["--threads", c.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var options = new SlurmJobOptions
            {
                ArrayCount = n,
                OutputDirectory = pr.GetValue(output)!,
                WeightSpaceCommand = WeightSpaceCommandOf(pr.GetValue(weightspace)),
                Partition = pr.GetValue(partition),
                Time = pr.GetValue(time),
                CpusPerTask = pr.GetValue(cpus),
                Memory = pr.GetValue(mem),
                Account = pr.GetValue(account),
                Setup = pr.GetValue(setup) ?? [],
                CombineArguments = pr.GetValue(reportPath) is { } report ? ["--report", Path.GetFullPath(report)] : verb == "lora-extract" ? ["--force"] : [],
                CombineOutputName = verb == "lora-extract" ? AdapterFolderName : SlurmJob.ResultName,
            };
            SlurmScripts scripts;
            try { scripts = SlurmJob.Prepare(verb == "lora-extract" ? "lora extract" : verb, arguments, options); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (pr.GetValue(dryRun))
            {
                context.Out.WriteLine($"# {scripts.ArrayScriptPath}");
                context.Out.Write(scripts.ArrayScript);
                context.Out.WriteLine($"# {scripts.CombineScriptPath} (submitted with --dependency=afterany on the array)");
                context.Out.Write(scripts.CombineScript);
                return WeightSpaceCommandLine.Ok;
            }
            SlurmJob.Write(scripts);
            var submission = SlurmJob.Submit(scripts, pr.GetValue(sbatch)!);
            context.Out.WriteLine($"submitted array job {submission.ArrayJobId} ({n} tasks) and combine job {submission.CombineJobId}");
            context.Out.WriteLine($"follow:  squeue -j {submission.ArrayJobId},{submission.CombineJobId}   logs: {Path.Combine(scripts.Directory, "logs")}");
            context.Out.WriteLine($"result:  {Path.Combine(scripts.Directory, options.CombineOutputName)} (resubmit the same command to redo failed shards)");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary>How the nodes start WeightSpace: the given path, or this process (<c>dotnet weightspace.dll</c> when it
    /// runs under the dotnet host).</summary>
    private static IReadOnlyList<string> WeightSpaceCommandOf(string? given)
    {
        if (given is not null)
        {
            string full = Path.GetFullPath(given);
            if (!File.Exists(full)) throw new FileNotFoundException($"--weightspace {given}: no such file", given);
            return full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? [DotnetHost(), full] : [full];
        }
        string process = Environment.ProcessPath ?? throw new UsageException("cannot tell this process's executable; give --weightspace PATH");
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
        {
            string dll = typeof(SlurmCommand).Assembly.Location;
            return [process, dll];
        }
        return [process];
    }

    private static string DotnetHost() =>
        Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
}
