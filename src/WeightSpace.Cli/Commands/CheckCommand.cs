using System.Text.Json;
using System.Text.Json.Nodes;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Inputs;
using WeightSpace.Analysis.Preflight;
using WeightSpace.Formats.Hub;
using WeightSpace.Formats.Integrity;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace check MODEL… [--config CONFIG] [--json]</c>: a preflight from headers and config files only.</summary>
internal static class CheckCommand
{
    private const int ListedMismatches = 20;

    public static Command Create(CliContext context)
    {
        var models = new Argument<string[]>("models") { Description = "Models: paths (file, folder, shard index), hub ids ORG/NAME[@REVISION] from the local cache, MODEL+ADAPTER.", Arity = ArgumentArity.ZeroOrMore };
        var config = new Option<string?>("--config") { Description = "A mergekit config: also check the models it references and whether it can run on them (merge --dry-run's planning)." };
        var hubCache = new Option<string?>("--transformers-cache") { Description = "Hugging Face cache folder to resolve hub ids in (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)." };
        var json = CommonOptions.Json();
        var command = new Command("check", """
            Preflight before a merge or an analysis, from headers and config files only (no tensor data is read):
            per model the architecture, layer count, hidden/intermediate size, heads, vocabulary (config, embedding and
            tokenizer), tied embeddings and dtypes, with config.json checked against the tensors; shard-index
            consistency (every weight_map entry in its shard, no tensor missing or in two shards, total_size); the
            models against each other (architecture, tensor names and shapes, vocabularies); and with --config whether
            the config can run on them, through the same planning as merge --dry-run.
            Exit 0 when nothing is an error (warnings are printed), 1 otherwise.

            Examples:
              weightspace check data/llm/base data/llm/ft-python
              weightspace check --config ties.yml
              weightspace check mistralai/Mistral-7B-v0.1 ./my-finetune --json
            """) { models, config, hubCache, json };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? configPath = pr.GetValue(config);
            string? cacheDir = pr.GetValue(hubCache);
            var cache = cacheDir is null ? null : new HuggingFaceCache(cacheDir, "--transformers-cache");
            var references = new List<(string Reference, string Local)>();
            foreach (string m in pr.GetValue(models) ?? []) references.Add((m, m));
            if (configPath is not null) references.AddRange(ConfigModels(configPath));
            if (references.Count == 0) throw new UsageException("give at least one MODEL, or --config CONFIG");
            references = [.. references.DistinctBy(r => r.Local, StringComparer.Ordinal)];

            var result = CheckModels(references, cache);
            ConfigRun? run = configPath is null ? null : DryRun(configPath, cacheDir, pr.GetValue(json));
            bool ok = result.Findings.All(f => f.Severity != FindingSeverity.Error) && result.Checks.All(c => c.Ok) && run is not { ExitCode: not 0 };
            if (pr.GetValue(json)) WriteJson(context, result, run, ok);
            else WriteText(context, result, run, ok);
            return ok ? WeightSpaceCommandLine.Ok : WeightSpaceCommandLine.BadInput;
        }));
        return command;
    }

    private sealed record ModelsResult(List<ModelCheck> Checks, List<PreflightFinding> Findings, List<IndexAuditReport> Indexes);

    private sealed record ConfigRun(string Path, int ExitCode, string Output, string Errors);

    // The models a config names, resolved as merge resolves them (working directory first, then beside the config);
    // names of other documents of a multi-document config are merges, not models, and are left out.
    private static IEnumerable<(string, string)> ConfigModels(string configPath)
    {
        if (!File.Exists(configPath)) throw new FileNotFoundException($"--config {configPath}: config file not found", configPath);
        var documents = MergeConfig.ParseDocuments(File.ReadAllText(configPath));
        var names = documents.Select(d => d.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        string dir = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        foreach (string r in documents.SelectMany(d => d.ReferencedModels()).Distinct(StringComparer.Ordinal))
            if (!names.Contains(r.Split('+')[0]))
                yield return (r, MergeCommand.Resolve(r, dir));
    }

    private static PreflightFinding AdapterFinding(string reference, string path)
    {
        try
        {
            using var adapter = WeightSpace.Formats.Peft.PeftAdapter.Open(path);
            string? baseModel = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(path, WeightSpace.Formats.Peft.PeftAdapter.ConfigFileName)))?["base_model_name_or_path"] is
                System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out string? name) ? name : null;
            return new PreflightFinding(FindingSeverity.Warning, reference, string.Create(CultureInfo.InvariantCulture,
                $"a PEFT adapter (r {adapter.Config.Rank}, lora_alpha {adapter.Config.Alpha}, {adapter.Modules.Count} LoRA modules, {adapter.FullTensors.Count} full tensors{(baseModel is null ? "" : $", trained on '{baseModel}'")}), not a model: "
                + $"check it against its base with `weightspace check BASE+{reference}` (every module bound to the base's shapes)"));
        }
        catch (WeightSpaceException e)
        {
            return new PreflightFinding(FindingSeverity.Error, reference, e.Message);
        }
    }

    private static ModelsResult CheckModels(List<(string Reference, string Local)> references, HuggingFaceCache? cache)
    {
        var checks = new List<ModelCheck>();
        var findings = new List<PreflightFinding>();
        var audits = new List<IndexAuditReport>();
        var opened = new List<MergeModelSet>();
        try
        {
            var stores = new List<TensorStore>();
            foreach (var (reference, local) in references)
            {
                // Shards are audited first: opening stops at the first inconsistency, the audit lists them all.
                string? path = ModelPath(local, cache, reference, findings);
                if (path is null) continue;
                // A PEFT adapter folder alone is not a model: validate it and say how to check it against its base.
                if (!reference.Contains('+', StringComparison.Ordinal) && AdaptedTensorStore.IsAdapterFolder(path))
                {
                    findings.Add(AdapterFinding(reference, path));
                    continue;
                }
                if (ShardIndexAudit.FindIndex(path) is { } index)
                {
                    try
                    {
                        var audit = ShardIndexAudit.Audit(index);
                        audits.Add(audit);
                        findings.AddRange(audit.Findings.Select(f => new PreflightFinding(f.Severity, reference, f.ToString())));
                        if (!audit.Ok) continue;
                    }
                    catch (WeightSpaceException e)
                    {
                        findings.Add(new(FindingSeverity.Error, reference, e.Message));
                        continue;
                    }
                }
                try
                {
                    var set = MergeModelSet.Open([reference], r => r == reference ? local : r, cache: cache);
                    opened.Add(set);
                    var store = set.Stores[reference];
                    checks.Add(ModelPreflight.Check(reference, store, set.FolderOf(reference)));
                    stores.Add(store);
                }
                catch (Exception e) when (e is WeightSpaceException or IOException or UnauthorizedAccessException)
                {
                    findings.Add(new(FindingSeverity.Error, reference, e.Message));
                }
            }
            findings.AddRange(ModelPreflight.CompareSet(checks, stores));
            return new ModelsResult(checks, findings, audits);
        }
        finally
        {
            foreach (var set in opened) set.Dispose();
        }
    }

    private static string? ModelPath(string local, HuggingFaceCache? cache, string reference, List<PreflightFinding> findings)
    {
        if (File.Exists(local) || Directory.Exists(local)) return local;
        try
        {
            return ModelReference.Resolve(local, cache).Path;
        }
        catch (Exception e) when (e is WeightSpaceException or IOException)
        {
            findings.Add(new(FindingSeverity.Error, reference, e.Message));
            return null;
        }
    }

    // The config through merge's own resolution and planning (merge CONFIG OUT --dry-run): exactly what a merge would
    // check, so check and merge cannot disagree. OUT is only named, never written.
    private static ConfigRun DryRun(string configPath, string? cacheDir, bool json)
    {
        string full = Path.GetFullPath(configPath);
        string outDir = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + "-merged");
        var args = new List<string> { "merge", configPath, outDir, "--dry-run", "--quiet" };
        if (json) args.Add("--json");
        if (cacheDir is not null) args.AddRange(["--transformers-cache", cacheDir]);
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = WeightSpaceCommandLine.Run([.. args], stdout, stderr);
        return new ConfigRun(configPath, code, stdout.ToString(), stderr.ToString());
    }

    private static void WriteText(CliContext context, ModelsResult result, ConfigRun? run, bool ok)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (string c in (string[])["model", "format", "architecture", "layers", "hidden", "inter", "heads/kv", "vocab", "tokenizer", "tied", "dtypes", "params", "size"])
            table.AddColumn(new TableColumn(c));
        foreach (var c in result.Checks)
            table.AddRow([.. new[]
            {
                c.Reference, c.Format, c.Architecture ?? c.ModelType ?? "?", Pair(c.Layers), Pair(c.HiddenSize), Pair(c.IntermediateSize),
                $"{Show(c.AttentionHeads.Heads)}/{Show(c.AttentionHeads.KeyValueHeads)}", Pair(c.Vocabulary), Show(c.TokenizerVocabulary),
                c.TiedEmbeddings.Found is { } t ? (t ? "yes" : "no") : "?",
                string.Join(" ", c.DTypes.Select(d => $"{d.Value} {d.Key.ToShortName()}")),
                CliValues.FormatCount(c.Parameters), CliValues.FormatBytes(c.Bytes),
            }.Select(Markup.Escape)]);
        if (result.Checks.Count > 0) context.Console.Write(table);
        foreach (var a in result.Indexes)
            context.Out.WriteLine($"shards: {a.IndexPath}: {a.Shards} shard(s), {a.IndexedTensors} indexed tensors, {a.ShardTensors} in the shards{(a.Findings.Count == 0 ? ", consistent" : "")}");
        var all = result.Checks.SelectMany(c => c.Findings).Concat(result.Findings).OrderByDescending(f => f.Severity).ToList();
        foreach (var f in all.Take(ListedMismatches)) context.Out.WriteLine(f.ToString());
        if (all.Count > ListedMismatches) context.Out.WriteLine($"… and {all.Count - ListedMismatches} more (--json lists all)");
        if (run is not null)
        {
            context.Out.WriteLine($"config {run.Path}: {(run.ExitCode == 0 ? "can run on these models" : "cannot run")}");
            foreach (string line in (run.Output + run.Errors).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                context.Out.WriteLine("  " + line);
        }
        int errors = all.Count(f => f.Severity == FindingSeverity.Error), warnings = all.Count - errors;
        context.Out.WriteLine(ok ? $"ok ({warnings} warning(s))" : $"{errors} error(s), {warnings} warning(s){(run is { ExitCode: not 0 } ? ", config cannot run" : "")}");
    }

    private static void WriteJson(CliContext context, ModelsResult result, ConfigRun? run, bool ok) => JsonStdout.WriteObject(context, w =>
    {
        w.WriteBoolean("ok", ok);
        w.WriteObjectArray("models", result.Checks, (w, c) =>
        {
            w.WriteString("reference", c.Reference);
            w.WriteString("folder", c.Folder);
            w.WriteString("format", c.Format);
            w.WriteString("architecture", c.Architecture);
            w.WriteString("model_type", c.ModelType);
            w.WriteNumber("tensors", c.Tensors);
            w.WriteNumber("parameters", c.Parameters);
            w.WriteNumber("bytes", c.Bytes);
            w.WriteStartObject("dtypes");
            foreach (var d in c.DTypes) w.WriteNumber(d.Key.ToShortName(), d.Value);
            w.WriteEndObject();
            w.WriteString("torch_dtype", c.StatedDType);
            Pair(w, "layers", c.Layers.Stated, c.Layers.Found);
            Pair(w, "hidden_size", c.HiddenSize.Stated, c.HiddenSize.Found);
            Pair(w, "intermediate_size", c.IntermediateSize.Stated, c.IntermediateSize.Found);
            Pair(w, "vocab_size", c.Vocabulary.Stated, c.Vocabulary.Found);
            Number(w, "tokenizer_vocabulary", c.TokenizerVocabulary);
            Number(w, "num_attention_heads", c.AttentionHeads.Heads);
            Number(w, "num_key_value_heads", c.AttentionHeads.KeyValueHeads);
            w.WriteStartObject("tie_word_embeddings");
            if (c.TiedEmbeddings.Stated is { } s) w.WriteBoolean("config", s); else w.WriteNull("config");
            if (c.TiedEmbeddings.Found is { } f) w.WriteBoolean("tensors", f); else w.WriteNull("tensors");
            w.WriteEndObject();
            Findings(w, c.Findings);
        });
        w.WriteObjectArray("shard_indexes", result.Indexes, static (w, a) =>
        {
            w.WriteString("index", a.IndexPath);
            w.WriteNumber("shards", a.Shards);
            w.WriteNumber("indexed_tensors", a.IndexedTensors);
            w.WriteNumber("shard_tensors", a.ShardTensors);
            w.WriteBoolean("consistent", a.Findings.Count == 0);
        });
        Findings(w, result.Findings);
        if (run is null) return;
        w.WriteStartObject("config");
        w.WriteString("path", run.Path);
        w.WriteBoolean("can_run", run.ExitCode == 0);
        w.WriteNumber("exit_code", run.ExitCode);
        if (run.ExitCode == 0 && JsonNode.Parse(run.Output) is JsonObject plan)
        {
            w.WritePropertyName("plan");
            plan.WriteTo(w);
        }
        w.WriteStartArray("messages");
        foreach (string line in run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries)) w.WriteStringValue(line);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void Findings(Utf8JsonWriter w, IEnumerable<PreflightFinding> findings) => w.WriteObjectArray("findings", findings, static (w, f) =>
    {
        w.WriteString("severity", f.Severity == FindingSeverity.Error ? "error" : "warning");
        w.WriteString("subject", f.Subject);
        w.WriteString("message", f.Message);
    });

    private static void Pair<T>(Utf8JsonWriter w, string name, T? stated, T? found) where T : struct
    {
        w.WriteStartObject(name);
        Number(w, "config", stated);
        Number(w, "tensors", found);
        w.WriteEndObject();
    }

    private static void Number<T>(Utf8JsonWriter w, string name, T? value) where T : struct
    {
        if (value is null) w.WriteNull(name);
        else w.WriteNumber(name, Convert.ToInt64(value.Value, CultureInfo.InvariantCulture));
    }

    private static string Pair<T>(StatedAndFound<T> v) where T : struct => v switch
    {
        { Stated: null, Found: null } => "?",
        { Stated: null } => Show(v.Found),
        { Found: null } => Show(v.Stated) + " (config)",
        _ when Equals(v.Stated, v.Found) => Show(v.Found),
        _ => $"{Show(v.Stated)}≠{Show(v.Found)}",
    };

    private static string Show<T>(T? v) where T : struct => v is null ? "?" : Convert.ToString(v.Value, CultureInfo.InvariantCulture)!;
}
