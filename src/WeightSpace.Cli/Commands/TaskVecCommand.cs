namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace taskvec apply|add|negate|scale</c>: task arithmetic θ₀ + Σλᵢτᵢ, τᵢ = θᵢ − θ₀, written as a model directory.</summary>
internal static class TaskVecCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("taskvec", """
            Task arithmetic (Ilharco et al. 2023): τᵢ = θᵢ − θ₀ is what fine-tune i learned on top of base θ₀.
            Each subcommand writes θ₀ + Σλᵢτᵢ as a safetensors model directory (like merge: atomic, sharded above
            --shard-size, base's config/tokenizer files copied).

            Examples:
              weightspace taskvec apply base.safetensors --vectors ft1.safetensors ft2.safetensors --lambda 0.5 0.3 -o out/
              weightspace taskvec add base.safetensors ft1.safetensors ft2.safetensors -o multi/
              weightspace taskvec negate base.safetensors toxic.safetensors -o forgot/
              weightspace taskvec scale base.safetensors ft.safetensors --lambda 0.5 -o half/
              weightspace taskvec add base/ ft-prose/ ft-python/ -o multi/ --eval prose.txt python.txt
            """);
        command.Subcommands.Add(Apply(context));
        command.Subcommands.Add(Add(context));
        command.Subcommands.Add(Negate(context));
        command.Subcommands.Add(Scale(context));
        return command;
    }

    private sealed record Common(Argument<string> Base, Option<string> Output, Option<long?> ShardSize, Option<int> Threads, Option<long?> MaxRam, Option<bool> Force, Option<bool> Json,
        Option<string[]> Eval)
    {
        public static Common Make() => new(
            new Argument<string>("base") { Description = "The base model θ₀." },
            CommonOptions.Output("Output model directory (must be absent or empty unless --force)."),
            MergeOutputRun.ShardSizeOption(),
            CommonOptions.Threads(2),
            MergeOutputRun.MaxRamOption(),
            new Option<bool>("--force") { Description = "Replace a non-empty output directory." },
            CommonOptions.Json("Print a JSON summary."),
            new Option<string[]>("--eval") { Description = "Language models: after writing, score these UTF-8 texts with the base, every fine-tune and the output (see weightspace eval).", AllowMultipleArgumentsPerToken = true });

        public void AddTo(Command c)
        {
            c.Arguments.Insert(0, Base);
            foreach (var o in new Option[] { Output, ShardSize, Threads, MaxRam, Force, Json, Eval }) c.Options.Add(o);
        }
    }

    private static Command Apply(CliContext context)
    {
        var common = Common.Make();
        var vectors = new Option<string[]>("--vectors") { Description = "Fine-tuned models θᵢ whose task vectors are applied.", Required = true, AllowMultipleArgumentsPerToken = true };
        var lambda = new Option<double[]>("--lambda") { Description = "λᵢ: one value for all, or one per vector.", Required = true, AllowMultipleArgumentsPerToken = true };
        var command = new Command("apply", """
            θ₀ + Σᵢ λᵢ(θᵢ − θ₀).

            Example:
              weightspace taskvec apply base.safetensors --vectors ft1.safetensors ft2.safetensors --lambda 0.5 0.3 -o out/
            """) { vectors, lambda };
        common.AddTo(command);
        command.SetAction(pr => Run(context, pr, common, "apply", pr.GetValue(vectors)!, pr.GetValue(lambda)!));
        return command;
    }

    private static Command Add(CliContext context)
    {
        var common = Common.Make();
        var models = new Argument<string[]>("models") { Description = "Fine-tuned models whose task vectors are summed.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("add", """
            θ₀ + Σᵢ (θᵢ − θ₀): every task vector added with λ = 1 (multi-task model).

            Example:
              weightspace taskvec add base.safetensors ft1.safetensors ft2.safetensors -o multi/
            """) { models };
        common.AddTo(command);
        command.SetAction(pr => Run(context, pr, common, "add", pr.GetValue(models)!, [1.0]));
        return command;
    }

    private static Command Negate(CliContext context)
    {
        var common = Common.Make();
        var model = new Argument<string>("model") { Description = "The fine-tune whose learning is removed." };
        var command = new Command("negate", """
            θ₀ − (θ − θ₀): the negated task vector, for forgetting what the fine-tune learned.

            Example:
              weightspace taskvec negate base.safetensors toxic.safetensors -o forgot/
            """) { model };
        common.AddTo(command);
        command.SetAction(pr => Run(context, pr, common, "negate", [pr.GetValue(model)!], [-1.0]));
        return command;
    }

    private static Command Scale(CliContext context)
    {
        var common = Common.Make();
        var model = new Argument<string>("model") { Description = "The fine-tune θ." };
        var lambda = new Option<double>("--lambda") { Description = "λ.", Required = true };
        var command = new Command("scale", """
            θ₀ + λ(θ − θ₀): move along one task vector (λ = 1 gives the fine-tune, 0 the base, 2 extrapolates).

            Example:
              weightspace taskvec scale base.safetensors ft.safetensors --lambda 0.5 -o half/
            """) { model, lambda };
        common.AddTo(command);
        command.SetAction(pr => Run(context, pr, common, "scale", [pr.GetValue(model)!], [pr.GetValue(lambda)]));
        return command;
    }

    private static int Run(CliContext context, ParseResult pr, Common common, string verb, string[] models, double[] lambdas) =>
        WeightSpaceCommandLine.Guard(context, () =>
        {
            if (lambdas.Length != 1 && lambdas.Length != models.Length)
                throw new UsageException($"--lambda: give one value or one per vector ({models.Length}); got {lambdas.Length}");
            if (lambdas.Any(l => !double.IsFinite(l))) throw new UsageException("--lambda values must be finite");
            string output = pr.GetValue(common.Output)!;
            long shard = pr.GetValue(common.ShardSize) ?? MergeDirectoryOptions.DefaultShardSizeBytes;
            int workers = pr.GetValue(common.Threads);
            bool force = pr.GetValue(common.Force);
            string[] scoreTexts = pr.GetValue(common.Eval) ?? [];
            if (scoreTexts.Length > 0 && pr.GetValue(common.Json)) throw new UsageException("--eval prints a table of scores; drop --json");
            EvalCommand.RequireTexts("--eval", scoreTexts);
            MergeOutputRun.CheckOutput(output, force);
            string basePath = pr.GetValue(common.Base)!;
            {
                // Positional keys: the same file may legitimately appear twice (e.g. λ split over two terms).
                var refs = new[] { ("base", basePath) }.Concat(models.Select((m, i) => ($"model{i}", m)));
                // A PEFT adapter folder as a model is base + adapter (its task vector is s·B·A), merged on read.
                using var stores = OpenedModels.Open(refs, "base", "<base>");
                using var baseFiles = ModelFiles.Of(stores["base"], basePath);
                var terms = models.Select((_, i) => (stores[$"model{i}"], lambdas.Length == 1 ? lambdas[0] : lambdas[i])).ToArray();
                var plan = TaskVectorArithmetic.Apply(stores["base"], terms);
                var description = string.Join(" ", models.Select((m, i) => $"{terms[i].Item2.ToString("R", CultureInfo.InvariantCulture)}*({m} - base)"));
                var options = new MergeDirectoryOptions
                {
                    ShardSizeBytes = shard,
                    MaxParallelism = workers,
                    MaxWorkingSetBytes = pr.GetValue(common.MaxRam),
                    Overwrite = force,
                    Metadata = new Dictionary<string, string>
                    {
                        ["format"] = "pt",
                        ["weightspace.merge_method"] = "task_arithmetic",
                        ["weightspace.taskvec"] = $"{verb}: base + {description}; base = {basePath}",
                    },
                    ConfigFilesFrom = baseFiles.Folder,
                    TokenizerFilesFrom = baseFiles.Folder,
                };
                int code = MergeOutputRun.Write(context, plan, output, options, pr.GetValue(common.Json), verb);
                if (code == WeightSpaceCommandLine.Ok && scoreTexts.Length > 0)
                {
                    string[] listed = [basePath, .. models.Distinct(StringComparer.Ordinal), output];
                    EvalCommand.CompareModels(context, [.. listed.Select(m => AdaptedTensorStore.IsAdapterFolder(m) ? (basePath, m) : (m, (string?)null))], scoreTexts, "output", listed);
                }
                return code;
            }
        });
}
