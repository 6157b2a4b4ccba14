using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace lora apply|extract|combine|analyze</c>: PEFT LoRA adapters applied, extracted, combined and analysed.</summary>
internal static class LoraCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("lora", """
            PEFT LoRA adapters (adapter_config.json + adapter_model.safetensors or .bin): merge them into a base
            (PEFT's merge_and_unload), extract one from a fine-tune (truncated SVD of ΔW), combine several in ΔW space,
            analyse what one changes. An adapter that does not fit its base is refused before any work.

            Examples:
              weightspace lora apply base/ lora-python/ -o merged/
              weightspace lora apply base/ a/ b/ --scale 0.7 0.3 --dtype bf16 -o merged/
              weightspace lora extract base/ ft-python/ --rank 16 -o adapter/
              weightspace lora combine a/ b/ --weights 0.5 0.5 --rank 16 -o ab/
              weightspace lora analyze base/ lora-python/ --json
            """);
        command.Subcommands.Add(Apply(context));
        command.Subcommands.Add(Extract(context));
        command.Subcommands.Add(Combine(context));
        command.Subcommands.Add(Analyze(context));
        return command;
    }

    private static Command Apply(CliContext context)
    {
        var baseArg = new Argument<string>("base") { Description = "The base model (folder or file) the adapters were trained on." };
        var adapters = new Argument<string[]>("adapters") { Description = "PEFT adapter folders.", Arity = ArgumentArity.OneOrMore };
        var scale = new Option<double[]>("--scale") { Description = "Weight of each adapter (one for all, or one per adapter); default 1.", AllowMultipleArgumentsPerToken = true };
        var dtype = new Option<string?>("--dtype") { Description = "Output dtype of floating-point tensors (f32, bf16, f16); default: the base's." };
        var output = CommonOptions.Output("Output model folder (absent or empty unless --force).");
        var shard = new Option<string?>("--shard-size") { Description = "Largest shard (e.g. 2GB); default 5GB." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary." };
        var command = new Command("apply", """
            W' = W + Σᵢ wᵢ·sᵢ·BᵢAᵢ per module (PEFT merge_and_unload; DoRA rescaled per output row; modules_to_save
            replaced), written as a Hugging Face folder (safetensors, base's config and tokenizer copied), one module at
            a time, atomically. The sum is rounded once to the output dtype.

            Examples:
              weightspace lora apply base/ lora-python/ -o merged/
              weightspace lora apply base-f32/ lora-python/ --dtype bf16 -o merged-bf16/
              weightspace lora apply base/ a/ b/ --scale 0.7 0.3 -o merged/
            """) { baseArg, adapters, scale, dtype, output, shard, force, json };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string[] paths = pr.GetValue(adapters)!;
            double[] weights = pr.GetValue(scale) is { Length: > 0 } s ? s : [1.0];
            if (weights.Length != 1 && weights.Length != paths.Length)
                throw new UsageException($"--scale: give one value or one per adapter ({paths.Length}); got {weights.Length}");
            if (weights.Any(w => !double.IsFinite(w))) throw new UsageException("--scale values must be finite");
            string outDir = pr.GetValue(output)!;
            bool overwrite = pr.GetValue(force);
            MergeOutputRun.CheckOutput(outDir, overwrite);
            var options = new LoraApplyOptions
            {
                DType = ParseDType(pr.GetValue(dtype)),
                ShardSizeBytes = pr.GetValue(shard) is { } sh ? ConvertCommand.ParseSize(sh) : MergeDirectoryOptions.DefaultShardSizeBytes,
                Overwrite = overwrite,
            };
            var result = LoraApplication.Write(pr.GetValue(baseArg)!, paths, weights, outDir, options);
            foreach (string note in result.Notes) context.Error.WriteLine($"note: {note}");
            if (pr.GetValue(json))
            {
                JsonStdout.WriteObject(context, w =>
                {
                    w.WriteString("output", Path.GetFullPath(outDir));
                    w.WriteNumber("modules_merged", result.ModulesMerged);
                    w.WriteNumber("tensors_replaced", result.TensorsReplaced);
                    w.WriteNumber("tensors_copied", result.TensorsCopied);
                    w.WriteStringArray("files", result.Files);
                });
            }
            else
            {
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {outDir}: {result.ModulesMerged} LoRA modules merged, {result.TensorsReplaced} tensors replaced, {result.TensorsCopied} copied ({string.Join(", ", result.Files)})"));
            }
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static Command Extract(CliContext context)
    {
        var baseArg = new Argument<string>("base") { Description = "The base model (folder or file)." };
        var ftArg = new Argument<string>("finetuned") { Description = "The fine-tuned model (folder or file)." };
        var output = new Option<string>("--output", "-o") { Description = "Output adapter folder (absent or empty unless --force); required unless --shard." };
        var rank = new Option<int?>("--rank", "--max-rank", "-r") { Description = "Rank of every module (with --energy: the largest allowed); default 16." };
        var energy = new Option<double?>("--energy") { Description = "Per module, the smallest rank keeping this fraction of ‖ΔW‖² (0 < E ≤ 1)." };
        var perModule = new Option<bool>("--per-module") { Description = "Print every module's rank, retained energy and relative error." };
        var epsilon = new Option<double>("--sv-epsilon") { Description = "Drop singular values at or below this (mergekit --sv-epsilon)." };
        var noDistribute = new Option<bool>("--no-distribute-scale") { Description = "Put Σ in B (B = UΣ, A = Vᵀ) instead of √Σ in both." };
        var embedLora = new Option<bool>("--embed-lora") { Description = "Changed embeddings as lora_embedding_A/B instead of modules_to_save." };
        var saveModule = new Option<string[]>("--save-module") { Description = "Modules saved at full rank (modules_to_save).", AllowMultipleArgumentsPerToken = true };
        var include = new Option<string[]>("--include-regex", "-i") { Description = "Only modules matching a regex.", AllowMultipleArgumentsPerToken = true };
        var exclude = new Option<string[]>("--exclude-regex", "-e") { Description = "Leave out modules matching a regex (reported).", AllowMultipleArgumentsPerToken = true };
        var skip = new Option<bool>("--skip-undecomposable") { Description = "Report changed norms, biases and embeddings instead of saving them." };
        var exact = new Option<bool>("--exact") { Description = "Always use the exact SVD (default: randomized when rank ≪ min(m, n))." };
        var dtype = new Option<string?>("--dtype") { Description = "Adapter tensor dtype (f32, bf16, f16); default f32." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };
        var json = new Option<bool>("--json") { Description = "Print the per-module report as JSON." };
        var shard = new Option<string?>("--shard") { Description = "Extract only shard I of N's modules (I/N, 1-based; split by estimated SVD cost) into --part (and its .factors.safetensors); `weightspace combine PARTS… -o ADAPTER` writes the adapter (see `weightspace slurm lora-extract`)." };
        var part = new Option<string?>("--part") { Description = "With --shard: the part file to write (JSON, atomic); the factors go beside it." };
        var noOutlierCheck = new Option<bool>("--no-outlier-check") { Description = "Do not check that the factors reproduce each module's outlier weights (≥ 10 × RMS, super-weight candidates); by default each one they miss by > 1 % is a warning." };
        var command = new Command("extract", """
            A PEFT LoRA adapter from the truncated SVD of ΔW = W_ft − W_base for every changed 2-D linear weight
            (B = U√Σ, A = √ΣVᵀ, α = r; rank_pattern/alpha_pattern where ranks differ). Norms and biases go to
            modules_to_save / bias "all", changed embeddings to modules_to_save (or --embed-lora); nothing changed is
            dropped without being reported. Options follow mergekit-extract-lora (--max-rank = --rank).

            Examples:
              weightspace lora extract base/ ft-python/ --rank 16 -o adapter/
              weightspace lora extract base/ ft-python/ --energy 0.9 --rank 128 --per-module -o adapter/
              weightspace lora extract base/ ft/ -r 64 -e 'lm_head' --skip-undecomposable --json -o adapter/
            """) { baseArg, ftArg, output, rank, energy, perModule, epsilon, noDistribute, embedLora, saveModule, include, exclude, skip, exact, dtype, force, json, shard, part, noOutlierCheck };
        command.Validators.Add(r =>
        {
            if (r.GetResult(output) is null && r.GetResult(shard) is null) r.AddError("Option '--output' is required (or --shard I/N --part FILE).");
        });
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            var shardSpec = SpectrumCommand.ParseShard(pr.GetValue(shard), pr.GetValue(part));
            string? outDir = pr.GetValue(output);
            bool overwrite = pr.GetValue(force);
            if (shardSpec is not null && (outDir is not null || pr.GetValue(json) || pr.GetValue(perModule)))
                throw new UsageException("--shard writes a part for `weightspace combine`; -o, --json and --per-module belong to the combine step or a single run");
            if (outDir is not null) MergeOutputRun.CheckOutput(outDir, overwrite);
            int r = pr.GetValue(rank) ?? (pr.GetValue(energy) is null ? 16 : 65_536);
            if (r < 1) throw new UsageException($"--rank {r} must be ≥ 1");
            if (pr.GetValue(energy) is double e && !(e > 0 && e <= 1)) throw new UsageException($"--energy {e} must be in (0, 1]");
            var options = new LoraExtractOptions
            {
                Rank = r,
                Energy = pr.GetValue(energy),
                SvEpsilon = pr.GetValue(epsilon),
                DistributeScale = !pr.GetValue(noDistribute),
                EmbedLora = pr.GetValue(embedLora),
                SaveModules = pr.GetValue(saveModule) ?? [],
                Include = pr.GetValue(include) ?? [],
                Exclude = pr.GetValue(exclude) ?? [],
                SkipUndecomposable = pr.GetValue(skip),
                AllowRandomized = !pr.GetValue(exact),
                DType = ParseDType(pr.GetValue(dtype)) ?? DType.F32,
                Overwrite = overwrite,
                CheckOutliers = !pr.GetValue(noOutlierCheck),
            };
            if (shardSpec is { } spec)
            {
                using var baseStore = Checkpoint.Open(pr.GetValue(baseArg)!);
                using var ftStore = Checkpoint.Open(pr.GetValue(ftArg)!);
                var written = LoraExtractShards.ExtractShard(baseStore, ftStore, spec, pr.GetValue(part)!, options, pr.GetValue(baseArg));
                context.Out.WriteLine($"wrote shard {spec} ({written.Items.Count} of {written.AllItems.Count} tensors) to {pr.GetValue(part)}");
                return WeightSpaceCommandLine.Ok;
            }
            var result = LoraExtraction.Write(pr.GetValue(baseArg)!, pr.GetValue(ftArg)!, outDir!, options);
            WriteExtractResult(context, result, outDir!, pr.GetValue(json), pr.GetValue(perModule));
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary>What <c>lora extract</c> prints (also after <c>combine</c> of its parts).</summary>
    internal static void WriteExtractResult(CliContext context, LoraExtractResult result, string outDir, bool json, bool perModule)
    {
        var outliers = result.Modules.SelectMany(m => m.OutlierChanges).ToList();
        foreach (var c in outliers) context.Error.WriteLine($"warning: {c}");
        if (json)
        {
            JsonStdout.WriteObject(context, w =>
            {
                w.WriteString("output", Path.GetFullPath(outDir));
                w.WriteObjectArray("modules", result.Modules, static (w, m) =>
                {
                    w.WriteString("module", m.Module);
                    w.WriteStartArray("shape"); w.WriteNumberValue(m.Rows); w.WriteNumberValue(m.Columns); w.WriteEndArray();
                    w.WriteNumber("rank", m.Rank);
                    w.WriteNumber("delta_norm", m.DeltaNorm);
                    w.WriteNumber("retained_energy", m.RetainedEnergy);
                    w.WriteNumber("relative_error", m.RelativeError);
                    w.WriteString("solver", m.Solver);
                    w.WriteBoolean("embedding", m.IsEmbedding);
                });
                WriteMap(w, "saved_in_full", result.SavedInFull);
                WriteMap(w, "not_written", result.NotWritten);
                w.WriteNumber("unchanged_tensors", result.Unchanged);
                w.WriteRecordArray("outlier_warnings", outliers);
                w.WriteStringArray("files", result.Files);
            });
            return;
        }
        if (perModule)
            foreach (var m in result.Modules)
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.Module,-48} [{m.Rows}, {m.Columns}] r={m.Rank,-4} energy={m.RetainedEnergy:F4} rel.error={m.RelativeError:F4} ({m.Solver})"));
        foreach (var (name, reason) in result.SavedInFull) context.Out.WriteLine($"saved in full: {name}: {reason}");
        foreach (var (name, reason) in result.NotWritten) context.Out.WriteLine($"not written: {name}: {reason}");
        double energySum = result.Modules.Sum(m => m.DeltaNorm * m.DeltaNorm * m.RetainedEnergy), normSum = result.Modules.Sum(m => m.DeltaNorm * m.DeltaNorm);
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {outDir}: {result.Modules.Count} LoRA modules (retained energy {(normSum > 0 ? energySum / normSum : 1):F4} of ‖ΔW‖² overall), {result.SavedInFull.Count} tensors in full, {result.NotWritten.Count} not written, {result.Unchanged} unchanged"));
    }

    private static Command Combine(CliContext context)
    {
        var adapters = new Argument<string[]>("adapters") { Description = "PEFT adapter folders.", Arity = ArgumentArity.OneOrMore };
        var weights = new Option<double[]>("--weights", "-w") { Description = "Weight of each adapter (one for all, or one per adapter); default 1.", AllowMultipleArgumentsPerToken = true };
        var rank = new Option<int?>("--rank", "-r") { Description = "Rank of the result per module; default Σ rᵢ (exact)." };
        var output = CommonOptions.Output("Output adapter folder.");
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };
        var json = new Option<bool>("--json") { Description = "Print per-module errors as JSON." };
        var command = new Command("combine", """
            One adapter whose ΔW = Σᵢ wᵢ·sᵢ·BᵢAᵢ per module (no cross terms BᵢAⱼ, unlike adding the A's and B's),
            re-factorised by its exact SVD at --rank, with the relative error per module.

            Examples:
              weightspace lora combine a/ b/ --weights 0.5 0.5 -o ab/
              weightspace lora combine a/ b/ c/ --rank 16 --json -o abc/
            """) { adapters, weights, rank, output, force, json };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string[] paths = pr.GetValue(adapters)!;
            double[] w = pr.GetValue(weights) is { Length: > 0 } x ? x : [1.0];
            if (w.Length != 1 && w.Length != paths.Length) throw new UsageException($"--weights: give one value or one per adapter ({paths.Length}); got {w.Length}");
            if (w.Any(v => !double.IsFinite(v))) throw new UsageException("--weights values must be finite");
            if (pr.GetValue(rank) is < 1) throw new UsageException("--rank must be ≥ 1");
            string outDir = pr.GetValue(output)!;
            MergeOutputRun.CheckOutput(outDir, pr.GetValue(force));
            var report = LoraCombination.Write(paths, w, pr.GetValue(rank), outDir, pr.GetValue(force));
            if (pr.GetValue(json))
            {
                JsonStdout.WriteObject(context, j =>
                {
                    j.WriteString("output", Path.GetFullPath(outDir));
                    j.WriteRecordArray("modules", report);
                });
            }
            else
            {
                double worst = report.Count > 0 ? report.Max(m => m.RelativeError) : 0;
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {outDir}: {report.Count} modules, largest relative error {worst:E3}"));
            }
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static Command Analyze(CliContext context)
    {
        var baseArg = new Argument<string>("base") { Description = "The base model." };
        var adapter = new Argument<string>("adapter") { Description = "A PEFT adapter folder." };
        var json = new Option<bool>("--json") { Description = "Print the analysis as JSON." };
        var reportPath = ReportOutput.CreateOption();
        var command = new Command("analyze", """
            What an adapter changes, one module at a time: ‖ΔW‖, ‖ΔW‖/‖W‖, ΔW's effective rank, intruder dimensions
            of W + ΔW against the base's singular vectors (top 10, |cos| < 0.5), and the layers it changes most.

            Examples:
              weightspace lora analyze base/ lora-python/
              weightspace lora analyze base/ lora-python/ --json
              weightspace lora analyze base/ lora-python/ --report adapter.html
            """) { baseArg, adapter, json, reportPath };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            var (modules, layers) = LoraAnalysis.Analyze(pr.GetValue(baseArg)!, pr.GetValue(adapter)!);
            if (htmlPath is not null)
            {
                var findings = new List<ReportFinding>();
                var section = LoraSection.Build(modules, layers, context.CommandLine, findings);
                ReportOutput.Write(context, htmlPath, "WeightSpace LoRA adapter", $"{pr.GetValue(adapter)} on {pr.GetValue(baseArg)}", [section], findings);
            }
            if (pr.GetValue(json))
            {
                JsonStdout.WriteObject(context, j =>
                {
                    j.WriteRecordArray("modules", modules, AnalyzeJson);
                    j.WriteRecordArray("layers_by_change", layers);
                });
                return WeightSpaceCommandLine.Ok;
            }
            foreach (var m in modules)
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.Module,-48} r={m.Rank,-3} ‖ΔW‖={m.DeltaNorm:F4} ‖ΔW‖/‖W‖={m.RelativeChange:F4} eff.rank={m.EffectiveRank:F2} intruders={m.Intruders.Count}"));
            context.Out.WriteLine("layers by relative change: " + string.Join(", ", layers.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Layer} ({l.RelativeChange:F4})"))));
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary><c>lora analyze --json</c>'s names: <see cref="JsonPolicy.Serializer"/>'s, except that an intruder's σ is
    /// <c>sigma</c> (<c>spectrum --against</c> names the same record's σ <c>singular_value</c>).</summary>
    private static readonly JsonSerializerOptions AnalyzeJson = new(JsonPolicy.Serializer)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                static info =>
                {
                    if (info.Type != typeof(IntruderDimension)) return;
                    foreach (var property in info.Properties)
                        if (property.Name == "singular_value") property.Name = "sigma";
                },
            },
        },
    };

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static DType? ParseDType(string? text)
    {
        if (text is null) return null;
        if (!DTypes.TryParse(text, out var d) || d is not (DType.F32 or DType.BF16 or DType.F16 or DType.F64))
            throw new UsageException($"--dtype '{text}': use f32, bf16, f16 or f64");
        return d;
    }
}
