using System.Text.Json.Nodes;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Inputs;
using WeightSpace.Analysis.Merging.Methods;
using WeightSpace.Analysis.Merging.Protection;
using WeightSpace.Analysis.Merging.Vocabulary;
using WeightSpace.Formats.Hub;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace merge CONFIG.yml OUTDIR</c> (mergekit-yaml's command line; <c>-o OUTDIR</c> also works), or the
/// one-liner <c>weightspace merge --method M --base B --models A C … -o OUTDIR</c>.</summary>
/// <remarks>The one-liner is turned into the equivalent mergekit YAML and parsed like a config file, so both paths
/// validate and plan identically. A file of several YAML documents runs as mergekit-multi does: named documents are
/// intermediate merges (written under <c>--intermediate-dir</c>) that later documents reference by name.</remarks>
internal static class MergeCommand
{
    public static Command Create(CliContext context)
    {
        var config = new Argument<string?>("config") { Description = "A mergekit YAML config (one document, or several as mergekit-multi takes). Omit it to use --method/--base/--models.", Arity = ArgumentArity.ZeroOrOne };
        var outArg = new Argument<string?>("out") { Description = "Output model directory, as mergekit-yaml's OUT_PATH (or give -o).", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string?>("--output", "-o") { Description = "Output model directory (created; must be absent or empty unless --force)." };
        var method = new Option<string?>("--method") { Description = "One-liner: merge method (linear, task_arithmetic, ties, dare_ties, slerp, …)." };
        var baseModel = new Option<string?>("--base") { Description = "One-liner: the base model θ₀." };
        var models = new Option<string[]>("--models") { Description = "One-liner: the models to merge (MODEL+ADAPTER applies a LoRA first).", AllowMultipleArgumentsPerToken = true };
        var weight = new Option<double[]>("--weight") { Description = "One-liner: per-model weight (one value for all, or one per model; default 1).", AllowMultipleArgumentsPerToken = true };
        var density = new Option<double[]>("--density") { Description = "One-liner: per-model density (one value or one per model).", AllowMultipleArgumentsPerToken = true };
        var gamma = new Option<double[]>("--gamma") { Description = "One-liner: per-model breadcrumbs gamma.", AllowMultipleArgumentsPerToken = true };
        var epsilon = new Option<double[]>("--epsilon") { Description = "One-liner: per-model DELLA epsilon.", AllowMultipleArgumentsPerToken = true };
        var lambda = new Option<double?>("--lambda") { Description = "One-liner: global lambda (task-arithmetic family)." };
        var t = new Option<double?>("--t") { Description = "One-liner: slerp interpolation factor t." };
        var set = new Option<string[]>("--set") { Description = "One-liner: any other global parameter as KEY=VALUE (e.g. semantics=paper, normalize=false).", AllowMultipleArgumentsPerToken = true };
        var outDType = CommonOptions.FloatDType("--out-dtype", "One-liner: output dtype of float tensors (f32, f16, bf16, f64).");
        var shardSize = MergeOutputRun.ShardSizeOption();
        shardSize.Aliases.Add("--out-shard-size");
        var threads = CommonOptions.Threads(2);
        threads.Aliases.Add("--num-threads");
        threads.Aliases.Add("-j");
        var maxRam = MergeOutputRun.MaxRamOption();
        var seed = new Option<ulong?>("--seed", "--random-seed") { Description = "Seed of random methods (dare_*, della*); overrides random_seed." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output directory." };
        var json = CommonOptions.Json("Print a JSON summary (output, method, tensors, bytes, seconds, files).");
        var evalTexts = new Option<string[]>("--eval") { Description = "Language models: after merging, score these UTF-8 texts with every input and the output (see weightspace eval).", AllowMultipleArgumentsPerToken = true };
        var reportPath = ReportOutput.CreateOption();
        var strict = new Option<bool>("--strict") { Description = "Refuse what mergekit ignores (parameters a method does not take) instead of warning." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Resolve every model, check shapes, methods and parameters from headers only, print the plan and the bytes it would write; write nothing. Exit 1 on any problem." };
        var copyTokenizer = new Option<bool>("--copy-tokenizer") { Description = "Copy the tokenizer files to the output (default, as mergekit)." };
        var noCopyTokenizer = new Option<bool>("--no-copy-tokenizer") { Description = "Do not copy tokenizer files (a chat_template is then not saved, as mergekit)." };
        var writeCard = new Option<bool>("--write-model-card") { Description = "Write README.md (model card) and mergekit_config.yml (default, as mergekit)." };
        var noWriteCard = new Option<bool>("--no-write-model-card") { Description = "Write neither README.md nor mergekit_config.yml." };
        var allowCrimes = new Option<bool>("--allow-crimes") { Description = "Allow models whose config.json name different architectures (refused otherwise, as mergekit)." };
        var loraMergeDType = CommonOptions.FloatDType("--lora-merge-dtype", "dtype of tensors a MODEL+ADAPTER reference changes (default: the model's), as mergekit.");
        var hubCache = new Option<string?>("--transformers-cache") { Description = "Hugging Face cache folder to resolve hub ids in (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)." };
        var intermediate = new Option<string?>("--intermediate-dir", "-I") { Description = "Multi-document configs: where named merges are written (default: OUT.intermediate)." };
        var noLazy = new Option<bool>("--no-lazy") { Description = "Multi-document configs: rerun named merges whose output already exists (by default they are reused, as mergekit-multi --lazy)." };
        var lazy = new Option<bool>("--lazy") { Description = "Multi-document configs: reuse named merges already written (the default)." };
        var (noOutlierCheck, protectOutliers) = MergeOutputRun.OutlierOptions();
        var quiet = new Option<bool>("--quiet") { Description = "No progress bar and no notes (warnings still print)." };
        var noOps = CompatibilityFlag.All.Select(f => (f, Option: new Option<bool>(f.Name) { Description = f.Help })).ToList();
        var lazyUnpickle = CompatibilityFlag.Valued.Select(f => (f, Option: new Option<string?>(f.Name) { Description = f.Help })).ToList();
        var command = new Command("merge", """
            Merge models with any registered method (mergekit's YAML schema and mergekit-yaml's flags), streaming one
            tensor at a time, into a directory of safetensors (sharded above --shard-size, with
            model.safetensors.index.json), config.json rewritten for the output (layer count, dtype, vocab_size), the
            tokenizer files, README.md and mergekit_config.yml. Nothing appears at OUT until every file is written.
            Model references: paths, hub ids from the local cache (ORG/NAME[@REVISION]), MODEL+ADAPTER (LoRA merged in).
            Exit codes: 0 done; 1 bad config, missing model or mismatched tensors (reported before any work);
            2 bad option value, or OUT exists and is not empty without --force (OUT is left untouched).

            Examples:
              weightspace merge ties.yml merged/
              weightspace merge ties.yml merged/ --dry-run
              weightspace merge --method ties --base base.safetensors --models a.safetensors c.safetensors --density 0.5 --lambda 1 -o merged/
              weightspace merge --method linear --models base+lora-adapter/ -o merged/
            """) { config, outArg, output, method, baseModel, models, weight, density, gamma, epsilon, lambda, t, set, outDType, shardSize, threads, maxRam, seed, force, json,
                reportPath, evalTexts, strict, dryRun, copyTokenizer, noCopyTokenizer, writeCard, noWriteCard, allowCrimes, loraMergeDType, hubCache, intermediate, lazy, noLazy, quiet, noOutlierCheck, protectOutliers };
        foreach (var (_, o) in noOps) command.Options.Add(o);
        foreach (var (_, o) in lazyUnpickle) command.Options.Add(o);
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            string? positional = pr.GetValue(outArg), dashO = pr.GetValue(output);
            if (positional is not null && dashO is not null && Path.GetFullPath(positional) != Path.GetFullPath(dashO))
                throw new UsageException($"two output directories given ('{positional}' and -o '{dashO}'); give one");
            string? outDir = positional ?? dashO;
            if (pr.GetValue(copyTokenizer) && pr.GetValue(noCopyTokenizer)) throw new UsageException("--copy-tokenizer and --no-copy-tokenizer contradict each other");
            if (pr.GetValue(writeCard) && pr.GetValue(noWriteCard)) throw new UsageException("--write-model-card and --no-write-model-card contradict each other");
            if (pr.GetValue(lazy) && pr.GetValue(noLazy)) throw new UsageException("--lazy and --no-lazy contradict each other");
            bool isQuiet = pr.GetValue(quiet);
            foreach (var (flag, o) in noOps)
                if (pr.GetValue(o) && !isQuiet) context.Error.WriteLine($"note: {flag.Name}: {flag.Why}");
            foreach (var (flag, o) in lazyUnpickle)
                if (pr.GetValue(o) is not null && !isQuiet) context.Error.WriteLine($"note: {flag.Name}: {flag.Why}");

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
            var documents = MergeConfig.ParseDocuments(yaml, pr.GetValue(strict));
            var run = new RunSettings(context, configDir, pr.GetValue(shardSize) ?? MergeDirectoryOptions.DefaultShardSizeBytes, pr.GetValue(threads),
                pr.GetValue(seed), pr.GetValue(force), pr.GetValue(json), !pr.GetValue(noCopyTokenizer), !pr.GetValue(noWriteCard), pr.GetValue(allowCrimes),
                pr.GetValue(loraMergeDType), pr.GetValue(hubCache) is { } c ? new HuggingFaceCache(c, "--transformers-cache") : null, pr.GetValue(dryRun), isQuiet, pr.GetValue(maxRam),
                MergeOutputRun.OutlierGuard(pr.GetValue(noOutlierCheck), pr.GetValue(protectOutliers)));
            if (documents.Count > 1 || documents[0].Name is not null)
            {
                if (scoreTexts.Length > 0 || htmlPath is not null) throw new UsageException("--eval and --report take a single-document config");
                return RunDocuments(run, documents, yaml, outDir, pr.GetValue(intermediate), !pr.GetValue(noLazy));
            }
            if (outDir is null) throw new UsageException("give the output directory: merge CONFIG OUT (or -o OUT)");
            if (!run.DryRun) MergeOutputRun.CheckOutput(outDir, run.Force);
            var parsed = documents[0];
            using var opened = Open(run, parsed);
            int code = RunOne(run, parsed, yaml, opened, outDir);
            if (run.DryRun || code != WeightSpaceCommandLine.Ok) return code;
            List<(string Model, LanguageModelReport Report)>? scores = null;
            if (scoreTexts.Length > 0)
            {
                // Each input is scored from where it was opened (a GGUF file, a hub id's snapshot); a MODEL+ADAPTER input as
                // eval MODEL --adapter ADAPTER, its LoRA merged on read.
                var scored = parsed.ReferencedModels().ToList();
                var reports = EvalCommand.CompareModels(context, [.. scored.Select(r => opened.PathOf(r) ?? (r, null)), (outDir!, null)], scoreTexts, labels: [.. scored, outDir!]);
                scores = [.. scored.Select((r, i) => (r, reports[i])), ($"{parsed.MergeMethod} merge", reports[^1])];
            }
            if (htmlPath is not null) WriteReport(context, htmlPath, parsed, opened, outDir, scores);
            return code;
        }));
        return command;
    }

    private sealed record RunSettings(CliContext Context, string ConfigDir, long ShardSize, int Workers, ulong? Seed, bool Force, bool Json,
        bool CopyTokenizer, bool WriteModelCard, bool AllowCrimes, DType? LoraMergeDType, HuggingFaceCache? HubCache, bool DryRun, bool Quiet, long? MaxRam,
        OutlierGuardOptions? OutlierGuard);

    private static MergeModelSet Open(RunSettings run, MergeConfig config)
    {
        var opened = MergeModelSet.Open(config.ReferencedModels(), r => Resolve(r, run.ConfigDir), run.LoraMergeDType, run.HubCache);
        try
        {
            CheckArchitectures(config, opened, run.AllowCrimes);
            return opened;
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }

    // Plans, builds the metadata files, and writes (or, with --dry-run, describes) one config's merge.
    private static int RunOne(RunSettings run, MergeConfig parsed, string yaml, MergeModelSet opened, string outDir)
    {
        var context = run.Context;
        foreach (string w in parsed.Warnings) context.Error.WriteLine($"warning: {w}");
        foreach (string n in opened.Notes) context.Error.WriteLine($"note: {n}");
        // tokenizer_source / tokenizer: the output vocabulary from every model's tokenizer.json, embedding rows remapped onto it.
        var vocabulary = parsed.Tokenizer is null ? null : MergeVocabulary.Build(parsed, opened.Stores, opened.FolderOf);
        var plan = MergePlan.Create(parsed, opened.Stores, run.Seed, vocabulary);
        string donor = MergeOutputFiles.DonorModel(parsed);
        // mergekit saves a tokenizer it built even without --copy-tokenizer.
        string? tokenizerFolder = run.CopyTokenizer || vocabulary is not null ? opened.FolderOf(plan.TokenizerSource ?? donor) : null;
        var warnings = new List<string>(vocabulary?.Warnings ?? []);
        var extra = MergeOutputFiles.Build(parsed, plan, new MergeOutputOptions
        {
            FolderOf = opened.FolderOf,
            ConfigYaml = yaml,
            OutputName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir))),
            WriteModelCard = run.WriteModelCard,
            TokenizerFolder = tokenizerFolder,
            TokenizerFiles = vocabulary?.TokenizerFiles,
        }, warnings);
        foreach (string w in warnings) context.Error.WriteLine($"warning: {w}");
        // A cap no tensor fits is an error before any output exists (and a dry run reports it too).
        if (run.MaxRam is { } cap) MergeRunner.RequireWorkingSetWithin(plan, cap);
        if (run.DryRun) return DryRun.Print(context, parsed, plan, opened, extra, outDir, run.ShardSize, run.Json);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["weightspace.merge_method"] = parsed.MergeMethod,
            ["weightspace.merge_config"] = yaml,
        };
        if (run.Seed is { } sv) metadata["weightspace.seed"] = sv.ToString(CultureInfo.InvariantCulture);
        var options = new MergeDirectoryOptions
        {
            ShardSizeBytes = run.ShardSize,
            MaxParallelism = run.Workers,
            MaxWorkingSetBytes = run.MaxRam,
            Overwrite = run.Force,
            Metadata = metadata,
            ExtraFiles = extra,
            ConfigFilesFrom = opened.FolderOf(donor),
            TokenizerFilesFrom = tokenizerFolder,
        };
        return MergeOutputRun.Write(context, plan, outDir, options, run.Json, "merging", run.Quiet, run.OutlierGuard);
    }

    // mergekit-multi: named documents are merged into the intermediate folder in dependency order, each reference to
    // a name pointing at that merge's output; the unnamed document (at most one) is the final merge into OUT.
    private static int RunDocuments(RunSettings run, IReadOnlyList<MergeConfig> documents, string yaml, string? outDir, string? intermediate, bool lazy)
    {
        var byName = documents.Where(d => d.Name is not null).ToDictionary(d => d.Name!, StringComparer.Ordinal);
        bool hasFinal = documents.Any(d => d.Name is null);
        if (hasFinal && outDir is null) throw new UsageException("the config has an unnamed (final) merge: give the output directory (merge CONFIG OUT)");
        string dir = intermediate ?? (outDir is not null ? Path.TrimEndingDirectorySeparator(outDir) + ".intermediate"
            : throw new UsageException("give --intermediate-dir for the named merges (or an output directory)"));
        string Target(MergeConfig d) => d.Name is null ? outDir! : Path.Combine(dir, d.Name);
        string? NameOf(string reference)
        {
            string model = reference.Split('+')[0];
            return byName.ContainsKey(model) ? model : null;
        }
        var order = new List<MergeConfig>();
        var state = new Dictionary<MergeConfig, int>();   // 1 visiting, 2 done
        void Visit(MergeConfig d, string path)
        {
            if (state.TryGetValue(d, out int s))
            {
                if (s == 1) throw new MergeConfigException("name", null, $"circular dependency between merges: {path}");
                return;
            }
            state[d] = 1;
            foreach (string dep in d.ReferencedModels().Select(NameOf).OfType<string>().Distinct())
                Visit(byName[dep], $"{path} -> {dep}");
            state[d] = 2;
            order.Add(d);
        }
        foreach (var d in documents) Visit(d, d.Name ?? "(final)");
        string Map(string reference) => NameOf(reference) is { } n ? Path.GetFullPath(Target(byName[n])) + reference[n.Length..] : reference;

        var texts = DocumentTexts(yaml, documents.Count);
        foreach (var d in order)
        {
            string target = Target(d);
            if (d.Name is not null && lazy && !run.DryRun && IsFinishedMerge(target))
            {
                if (!run.Quiet) run.Context.Error.WriteLine($"note: '{d.Name}' exists at {target}; reused (--no-lazy reruns it)");
                continue;
            }
            if (!run.DryRun) MergeOutputRun.CheckOutput(target, run.Force);
            var mapped = d.WithModels(Map);
            if (run.DryRun && d.ReferencedModels().Select(NameOf).OfType<string>().Any(n => !IsFinishedMerge(Target(byName[n]))))
            {
                run.Context.Out.WriteLine($"{d.Name ?? "(final)"}: depends on merges not written yet; checked when they exist");
                continue;
            }
            using var opened = Open(run, mapped);
            int code = RunOne(run, mapped, texts[documents.ToList().IndexOf(d)], opened, target);
            if (code != WeightSpaceCommandLine.Ok) return code;
        }
        return WeightSpaceCommandLine.Ok;
    }

    // mergekit-multi's lazy check: a config.json and weights are there.
    private static bool IsFinishedMerge(string folder) =>
        File.Exists(Path.Combine(folder, "config.json"))
        && (File.Exists(Path.Combine(folder, "model.safetensors")) || File.Exists(Path.Combine(folder, "model.safetensors.index.json")));

    // Each document's own text, recorded in its output's mergekit_config.yml.
    private static string[] DocumentTexts(string yaml, int count)
    {
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        foreach (string line in yaml.Split('\n'))
        {
            if (line.TrimEnd() == "---" || line.StartsWith("--- ", StringComparison.Ordinal))
            {
                if (current.ToString().Trim().Length > 0) parts.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(line).Append('\n');
        }
        if (current.ToString().Trim().Length > 0) parts.Add(current.ToString());
        return parts.Count == count ? [.. parts] : Enumerable.Repeat(yaml, count).ToArray();
    }

    // mergekit refuses models of different architectures unless --allow-crimes.
    private static void CheckArchitectures(MergeConfig config, MergeModelSet opened, bool allowCrimes)
    {
        if (allowCrimes) return;
        var seen = new List<(string Model, string Architecture)>();
        foreach (string m in config.ReferencedModels())
        {
            if (opened.FolderOf(m) is not { } folder || !File.Exists(Path.Combine(folder, "config.json"))) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))); }
            catch (System.Text.Json.JsonException) { continue; }
            if (node?["architectures"] is JsonArray { Count: > 0 } a && a[0]?.GetValue<string>() is { } arch) seen.Add((m, arch));
        }
        if (seen.Select(s => s.Architecture).Distinct(StringComparer.Ordinal).Count() > 1)
            throw new MergeConfigException("models", null,
                $"the models have different architectures ({string.Join(", ", seen.Select(s => $"{s.Model}: {s.Architecture}"))}); mergekit refuses this too; pass --allow-crimes to merge anyway");
    }

    private static void WriteReport(CliContext context, string htmlPath, MergeConfig parsed, MergeModelSet opened, string outDir,
        IReadOnlyList<(string Model, LanguageModelReport Report)>? scores)
    {
        var sections = new List<WeightSpace.Reports.Html.ReportSection>();
        var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
        var stores = opened.Stores;
        if (parsed.BaseModel is { } baseName)
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
        else context.Error.WriteLine("--report: this method has no base model, so there are no task vectors to report");
        if (scores is not null)
            sections.Add(WeightSpace.Reports.Html.Sections.LanguageModelScoreSection.Build(scores,
                "scores", "Scores of the inputs and the merge", "Bits per byte of every input and of the merge on each --eval text (weightspace eval; lower is better).",
                context.CommandLine, findings, outputs: 1));
        if (sections.Count > 0)
            ReportOutput.Write(context, htmlPath, "WeightSpace merge", $"{parsed.MergeMethod} of {string.Join(", ", parsed.ReferencedModels())}", sections, findings);
    }

    // mergekit resolves local paths against the working directory; a config kept beside its models also works.
    internal static string Resolve(string reference, string configDir)
    {
        if (Path.IsPathRooted(reference) || File.Exists(reference) || Directory.Exists(reference)) return reference;
        string beside = Path.Combine(configDir, reference);
        return File.Exists(beside) || Directory.Exists(beside) ? beside : reference;
    }

    /// <summary>mergekit-yaml flags with no effect here, accepted so mergekit command lines run, each with why.</summary>
    private sealed record CompatibilityFlag(string Name, string Help, string Why)
    {
        public static readonly CompatibilityFlag[] All =
        [
            new("--cuda", "mergekit: arithmetic on GPU. Accepted; WeightSpace merges on the CPU.", "WeightSpace merges on the CPU (streamed, vectorised); there is no GPU path, so the flag changes nothing"),
            new("--low-cpu-memory", "mergekit: keep results on GPU. Accepted; no effect.", "memory is already bounded by (models + 2) x the largest tensor; there is no GPU to move results to"),
            new("--read-to-gpu", "mergekit: read weights to GPU. Accepted; no effect.", "WeightSpace reads memory-mapped on the CPU; there is no GPU path"),
            new("--multi-gpu", "mergekit: multi-GPU executor. Accepted; no effect.", "WeightSpace merges on the CPU; use --threads for parallelism"),
            new("--gpu-rich", "mergekit: alias of the GPU flags. Accepted; no effect.", "WeightSpace merges on the CPU; use --threads for parallelism"),
            new("--lazy-unpickle", "mergekit: lazy unpickler. Accepted; always so here.", "pytorch_model.bin files are always read lazily by a restricted reader that never executes pickle code"),
            new("--no-lazy-unpickle", "mergekit: eager unpickling. Accepted; no effect.", "pytorch_model.bin files are always read lazily by a restricted reader that never executes pickle code"),
            new("--trust-remote-code", "mergekit: run model repos' code. Accepted; no code is ever run.", "WeightSpace reads config.json and tensors only and never runs code from a model repository"),
            new("--no-trust-remote-code", "mergekit's default. Accepted.", "WeightSpace never runs code from a model repository"),
            new("--clone-tensors", "mergekit: clone tensors before saving. Accepted; always so here.", "every output tensor is written from its own buffer, so a layer used twice is already written twice"),
            new("--no-clone-tensors", "mergekit's default. Accepted.", "every output tensor is written from its own buffer"),
            new("--safe-serialization", "mergekit: write safetensors (its default). Always so here.", "the output is always safetensors"),
            new("--no-safe-serialization", "mergekit: write pickled .bin. Refused softly: safetensors are written.", "WeightSpace writes only safetensors (pickled .bin output is never written)"),
            new("--no-cuda", "mergekit's default. Accepted.", "WeightSpace merges on the CPU"),
            new("--no-low-cpu-memory", "mergekit's default. Accepted.", "no effect"),
            new("--no-allow-crimes", "mergekit's default. Accepted.", "architectures are checked (the default)"),
            new("--no-read-to-gpu", "mergekit's default. Accepted.", "no effect"),
            new("--no-multi-gpu", "mergekit's default. Accepted.", "no effect"),
            new("--no-quiet", "mergekit's default. Accepted.", "no effect"),
        ];

        public static readonly CompatibilityFlag[] Valued =
        [
            new("--lora-merge-cache", "mergekit: where LoRA-merged models are cached. Accepted; nothing is cached.", "MODEL+ADAPTER is merged tensor by tensor while streaming, so no merged copy is written or cached"),
            new("--device", "mergekit: torch device. Accepted; WeightSpace merges on the CPU.", "WeightSpace merges on the CPU"),
        ];
    }

    /// <summary><c>--dry-run</c>: the plan from headers only, and what would be written.</summary>
    private static class DryRun
    {
        public static int Print(CliContext context, MergeConfig config, MergePlan plan, MergeModelSet opened, IReadOnlyDictionary<string, byte[]> extra,
            string outDir, long shardSize, bool json)
        {
            long tensorBytes = plan.Outputs.Sum(o => o.ByteCount);
            // Shards as the writer fills them: in output order, a new shard when the next tensor would not fit.
            int shards = 1;
            long current = 0;
            if (tensorBytes > shardSize)
                foreach (var o in plan.Outputs)
                {
                    if (current > 0 && current + o.ByteCount > shardSize) { shards++; current = 0; }
                    current += o.ByteCount;
                }
            long extraBytes = extra.Values.Sum(b => (long)b.Length);
            var dtypes = plan.Outputs.GroupBy(o => o.DType).Select(g => $"{g.Count()} {g.Key.ToShortName()}").ToList();
            if (json)
            {
                JsonStdout.WriteObject(context, w =>
                {
                    w.WriteString("output", Path.GetFullPath(outDir));
                    w.WriteString("method", plan.Method.Name);
                    w.WriteStartArray("models");
                    foreach (string m in config.ReferencedModels())
                    {
                        w.WriteStartObject();
                        w.WriteString("reference", m);
                        w.WriteString("path", opened.PathOf(m)?.Model);
                        // A GGUF's config and tokenizer are its metadata (synthesised into a temporary folder): no folder to show.
                        w.WriteString("folder", opened.Stores[m] is WeightSpace.Formats.Gguf.GgufStore ? null : opened.FolderOf(m));
                        w.WriteNumber("tensors", opened.Stores[m].Tensors.Count);
                        w.WriteNumber("layers", MergePlan.CountLayers(opened.Stores[m]));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteNumber("layers", plan.LayerCount);
                    w.WriteNumber("tensors", plan.Tensors.Count);
                    w.WriteNumber("tensor_bytes", tensorBytes);
                    w.WriteNumber("shards", shards);
                    w.WriteNumber("metadata_bytes", extraBytes);
                    w.WriteStartArray("files");
                    foreach (string f in extra.Keys.Order(StringComparer.Ordinal)) w.WriteStringValue(f);
                    w.WriteEndArray();
                    w.WriteStartArray("warnings");
                    foreach (string x in config.Warnings) w.WriteStringValue(x);
                    w.WriteEndArray();
                });
                return WeightSpaceCommandLine.Ok;
            }
            var text = context.Out;
            text.WriteLine($"dry run: {plan.Method.Name} into {outDir} (nothing written)");
            foreach (string m in config.ReferencedModels())
                text.WriteLine($"  {(m == config.BaseModel ? "base " : "model")} {m} -> {opened.PathOf(m)?.Model} ({opened.Stores[m].Tensors.Count} tensors, {MergePlan.CountLayers(opened.Stores[m])} layers)");
            text.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  output: {plan.LayerCount} layers, {plan.Tensors.Count} tensors ({string.Join(", ", dtypes)}), {CliValues.FormatBytes(tensorBytes)} in {shards} shard(s) of at most {CliValues.FormatBytes(shardSize)}"));
            text.WriteLine($"  peak working set: {CliValues.FormatBytes(plan.PeakWorkingElements * sizeof(float))} of float32 buffers");
            text.WriteLine($"  also written: {string.Join(", ", extra.Keys.Order(StringComparer.Ordinal))} ({CliValues.FormatBytes(extraBytes)}), plus tokenizer and generation files copied from the donor");
            return WeightSpaceCommandLine.Ok;
        }
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
