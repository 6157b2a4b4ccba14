using System.CommandLine;
using WeightSpace.Analysis.TaskVectors;
using System.Globalization;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Analysis.Merging;
using WeightSpace.Formats;
using WeightSpace.Analysis.Merging.Methods;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace merge CONFIG.yml -o OUTDIR</c>, or the one-liner <c>weightspace merge --method M --base B --models A C … -o OUTDIR</c>.</summary>
/// <remarks>The one-liner is turned into the equivalent mergekit YAML and parsed like a config file, so both paths
/// validate and plan identically; that YAML is what the output's <c>__metadata__</c> records.</remarks>
internal static class MergeCommand
{
    public static Command Create(CliContext context)
    {
        var config = new Argument<string?>("config") { Description = "A mergekit YAML config. Omit it to use --method/--base/--models.", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string>("--output", "-o") { Description = "Output model directory (created; must be absent or empty unless --force).", Required = true };
        var method = new Option<string?>("--method") { Description = "One-liner: merge method (linear, task_arithmetic, ties, dare_ties, slerp, …)." };
        var baseModel = new Option<string?>("--base") { Description = "One-liner: the base model θ₀." };
        var models = new Option<string[]>("--models") { Description = "One-liner: the models to merge.", AllowMultipleArgumentsPerToken = true };
        var weight = new Option<double[]>("--weight") { Description = "One-liner: per-model weight (one value for all, or one per model; default 1).", AllowMultipleArgumentsPerToken = true };
        var density = new Option<double[]>("--density") { Description = "One-liner: per-model density (one value or one per model).", AllowMultipleArgumentsPerToken = true };
        var gamma = new Option<double[]>("--gamma") { Description = "One-liner: per-model breadcrumbs gamma.", AllowMultipleArgumentsPerToken = true };
        var epsilon = new Option<double[]>("--epsilon") { Description = "One-liner: per-model DELLA epsilon.", AllowMultipleArgumentsPerToken = true };
        var lambda = new Option<double?>("--lambda") { Description = "One-liner: global lambda (task-arithmetic family)." };
        var t = new Option<double?>("--t") { Description = "One-liner: slerp interpolation factor t." };
        var set = new Option<string[]>("--set") { Description = "One-liner: any other global parameter as KEY=VALUE (e.g. semantics=paper, normalize=false).", AllowMultipleArgumentsPerToken = true };
        var outDType = CommonOptions.FloatDType("--out-dtype", "One-liner: output dtype of float tensors (f32, f16, bf16, f64).");
        var shardSize = MergeOutputRun.ShardSizeOption();
        var threads = CommonOptions.Threads(2);
        var seed = new Option<ulong?>("--seed") { Description = "Seed of random methods (dare_*, della*); overrides random_seed." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output directory." };
        var json = CommonOptions.Json("Print a JSON summary (output, method, tensors, bytes, seconds, files).");
        var evalTexts = new Option<string[]>("--eval") { Description = "Language models: after merging, score these UTF-8 texts with every input and the output (see weightspace eval).", AllowMultipleArgumentsPerToken = true };
        var reportPath = ReportOutput.CreateOption();
        var command = new Command("merge", """
            Merge models with any registered method (mergekit's YAML schema), streaming one tensor at a time, into a
            directory of safetensors (sharded above --shard-size, with model.safetensors.index.json), with the base model's
            config.json and tokenizer files. Nothing appears at OUTDIR until every tensor is written.
            Exit codes: 0 done; 1 bad config, missing model or mismatched tensors (reported before any work);
            2 bad option value, or OUTDIR exists and is not empty without --force (OUTDIR is left untouched).

            Examples:
              weightspace merge ties.yml -o merged/
              weightspace merge --method ties --base base.safetensors --models a.safetensors c.safetensors --density 0.5 --lambda 1 -o merged/
              weightspace merge --method slerp --base a.safetensors --models b.safetensors --t 0.5 -o merged/ --shard-size 2GB
            """) { config, output, method, baseModel, models, weight, density, gamma, epsilon, lambda, t, set, outDType, shardSize, threads, seed, force, json, reportPath, evalTexts };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            string outDir = pr.GetValue(output)!;
            long shard = pr.GetValue(shardSize) ?? MergeDirectoryOptions.DefaultShardSizeBytes;
            int workers = pr.GetValue(threads);
            string? configPath = pr.GetValue(config);
            var oneLiner = new OneLiner(pr.GetValue(method), pr.GetValue(baseModel), pr.GetValue(models) ?? [], pr.GetValue(weight) ?? [],
                pr.GetValue(density) ?? [], pr.GetValue(gamma) ?? [], pr.GetValue(epsilon) ?? [], pr.GetValue(lambda), pr.GetValue(t),
                pr.GetValue(set) ?? [], pr.GetValue(outDType));
            string yaml, configDir;
            if (configPath is not null)
            {
                if (oneLiner.IsUsed) throw new UsageException("give either a CONFIG file or --method/--base/--models options, not both");
                if (!File.Exists(configPath)) throw new FileNotFoundException($"{configPath}: config file not found");
                yaml = File.ReadAllText(configPath);
                configDir = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
            }
            else
            {
                yaml = oneLiner.ToYaml();
                configDir = Directory.GetCurrentDirectory();
            }
            string[] scoreTexts = pr.GetValue(evalTexts) ?? [];
            if (scoreTexts.Length > 0 && pr.GetValue(json)) throw new UsageException("--eval prints a table of scores; drop --json");
            EvalCommand.RequireTexts("--eval", scoreTexts);
            MergeOutputRun.CheckOutput(outDir, pr.GetValue(force));
            var parsed = MergeConfig.Parse(yaml);
            {
                using var models = OpenedModels.Open(parsed.ReferencedModels().Select(r => (r, Resolve(r, configDir))),
                    missing => new MergeConfigException("model", null, $"not found: {string.Join(", ", missing.Select(m => $"'{m}'"))}"));
                var stores = models.Stores;
                ulong? seedValue = pr.GetValue(seed);
                var plan = MergePlan.Create(parsed, stores, seedValue);
                string anchor = parsed.ReferencedModels()[0];
                var metadata = new Dictionary<string, string>
                {
                    ["format"] = "pt",
                    ["weightspace.merge_method"] = parsed.MergeMethod,
                    ["weightspace.merge_config"] = yaml,
                };
                if (seedValue is { } sv) metadata["weightspace.seed"] = sv.ToString(CultureInfo.InvariantCulture);
                var options = new MergeDirectoryOptions
                {
                    ShardSizeBytes = shard,
                    MaxParallelism = workers,
                    Overwrite = pr.GetValue(force),
                    Metadata = metadata,
                    ConfigFilesFrom = MergeOutputRun.ModelDirectory(Resolve(anchor, configDir)),
                    TokenizerFilesFrom = MergeOutputRun.ModelDirectory(Resolve(plan.TokenizerSource ?? anchor, configDir)),
                };
                int code = MergeOutputRun.Write(context, plan, outDir, options, pr.GetValue(json), "merging");
                var inputPaths = parsed.ReferencedModels().Select(r => Resolve(r, configDir)).ToList();
                var scoreReports = code == WeightSpaceCommandLine.Ok && scoreTexts.Length > 0
                    ? EvalCommand.CompareModels(context, [.. inputPaths, outDir], scoreTexts) : null;
                var sections = new List<WeightSpace.Reports.Html.ReportSection>();
                var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
                if (code == WeightSpaceCommandLine.Ok && htmlPath is not null && parsed.BaseModel is { } baseName)
                {
                    // How the merge relates to what went in: task vectors of every input and of the merge itself.
                    using var merged = Checkpoint.Open(outDir);
                    var inputs = parsed.ReferencedModels().Where(r => r != baseName).Select(r => stores[r]).ToList();
                    var delta = TaskVectorAnalysis.Analyze(stores[baseName], [.. inputs, merged], new TaskVectorOptions { SkipMismatched = true });
                    var section = WeightSpace.Reports.Html.Sections.TaskVectorSection.Build(delta, "merge", $"{parsed.MergeMethod} merge against its base",
                        context.CommandLine, findings);
                    section.Notes.Add("The last model is the merge: its cosine with each input says how much of that fine-tune it kept.");
                    sections.Add(section);
                }
                else if (htmlPath is not null && code == WeightSpaceCommandLine.Ok)
                    context.Error.WriteLine("--report: this method has no base model, so there are no task vectors to report");
                if (htmlPath is not null && scoreReports is not null)
                    sections.Add(WeightSpace.Reports.Html.Sections.LanguageModelScoreSection.Build(
                        [.. parsed.ReferencedModels().Select((r, i) => (r, scoreReports[i])), ($"{parsed.MergeMethod} merge", scoreReports[^1])],
                        "scores", "Scores of the inputs and the merge", "Bits per byte of every input and of the merge on each --eval text (weightspace eval; lower is better).",
                        context.CommandLine, findings, outputs: 1));
                if (htmlPath is not null && sections.Count > 0)
                    ReportOutput.Write(context, htmlPath, "WeightSpace merge", $"{parsed.MergeMethod} of {string.Join(", ", parsed.ReferencedModels())}", sections, findings);
                return code;
            }
        }));
        return command;
    }

    // mergekit resolves local paths against the working directory; a config kept beside its models also works.
    internal static string Resolve(string reference, string configDir)
    {
        if (Path.IsPathRooted(reference) || File.Exists(reference) || Directory.Exists(reference)) return reference;
        string beside = Path.Combine(configDir, reference);
        return File.Exists(beside) || Directory.Exists(beside) ? beside : reference;
    }

    private sealed record OneLiner(string? Method, string? Base, string[] Models, double[] Weight, double[] Density, double[] Gamma,
        double[] Epsilon, double? Lambda, double? T, string[] Set, DType? OutDType)
    {
        public bool IsUsed => Method is not null || Base is not null || Models.Length > 0 || Weight.Length > 0 || Density.Length > 0
            || Gamma.Length > 0 || Epsilon.Length > 0 || Lambda is not null || T is not null || Set.Length > 0 || OutDType is not null;

        /// <summary>The options as a config builder: option checks here, the YAML in <see cref="MergeConfigBuilder.ToYaml"/>.</summary>
        public string ToYaml()
        {
            if (Method is null) throw new UsageException("give a CONFIG file, or --method with --models (and --base for methods that need one)");
            if (Models.Length == 0) throw new UsageException("--models: at least one model is needed");
            // A method with weights gets weight 1 per model unless --weight says otherwise, as mergekit's one-model-per-line configs do.
            double[] weight = Weight.Length > 0 || !MergeMethods.Get(Method).Parameters.Any(p => p.Name == "weight") ? Weight : [1.0];
            var perModel = new (string Name, double[] Values)[] { ("weight", weight), ("density", Density), ("gamma", Gamma), ("epsilon", Epsilon) }
                .Where(p => p.Values.Length > 0).ToArray();
            foreach (var (name, values) in perModel)
                if (values.Length != 1 && values.Length != Models.Length)
                    throw new UsageException($"--{name}: give one value or one per model ({Models.Length}); got {values.Length}");
            var builder = new MergeConfigBuilder(Method).WithDTypes(null, OutDType);
            if (Base is not null) builder.WithBase(Base);
            for (int i = 0; i < Models.Length; i++)
                builder.AddModel(Models[i], perModel.ToDictionary(p => p.Name, p => p.Values.Length == 1 ? p.Values[0] : p.Values[i]));
            if (Lambda is { } l) builder.Set("lambda", l);
            if (T is { } t) builder.Set("t", t);
            foreach (string kv in Set)
            {
                int eq = kv.IndexOf('=');
                if (eq <= 0 || eq == kv.Length - 1 || !kv[..eq].All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                    throw new UsageException($"--set '{kv}' is not KEY=VALUE");
                builder.Set(kv[..eq], ParameterSetting.Parse(kv[(eq + 1)..]));
            }
            return builder.ToYaml();
        }
    }
}
