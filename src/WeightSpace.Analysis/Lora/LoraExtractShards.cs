using WeightSpace.Formats.Safetensors;
using static WeightSpace.Analysis.Lora.LoraExtraction;

namespace WeightSpace.Analysis.Lora;

/// <summary><c>lora extract BASE FT --shard I/N --part FILE</c>: each shard factorises its modules and keeps the
/// factors in a safetensors file beside its part; the combine writes the one PEFT adapter folder a single run writes
/// (one <c>adapter_config.json</c> with <c>rank_pattern</c>, tensors byte for byte the same), atomically.</summary>
/// <remarks>Every shard first compares the two models to find the changed tensors (a linear pass over both, the same
/// plan everywhere: the plan is in every part's context, so parts of different plans are refused). The split is by
/// <see cref="Cost"/>: m·n·min(m, n) for an exact SVD, m·n·(r + p)·(2q + 2) for the randomized one (rank r,
/// oversampling p, q power iterations: one pass per multiplication by ΔW or ΔWᵀ), the element count for a tensor
/// saved in full. A shard holds its own factors until it writes them (its share of the adapter).</remarks>
public static class LoraExtractShards
{
    /// <summary>The verb name recorded in parts.</summary>
    public const string Verb = "lora-extract";

    private static readonly JsonSerializerOptions OptionsJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Estimated cost of extracting a changed 2-D weight of <paramref name="rows"/>×<paramref name="columns"/>.</summary>
    public static double Cost(long rows, long columns, LoraExtractOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double m = rows, n = columns;
        bool adaptive = options.Energy is not null || options.SvEpsilon > 0;
        int r = (int)Math.Min(options.Rank, Math.Min(rows, columns));
        if (!adaptive && options.AllowRandomized && (r + options.Oversample) * 4L <= Math.Min(rows, columns))
            return m * n * (r + options.Oversample) * (2.0 * options.PowerIterations + 2);
        return m * n * Math.Min(m, n);
    }

    /// <summary>Extracts one shard's modules: writes the factors next to <paramref name="partPath"/>
    /// (<c>NAME.factors.safetensors</c>), then the part, both atomically.</summary>
    /// <exception cref="WeightSpaceException">An option is invalid.</exception>
    public static PartFile ExtractShard(TensorStore baseModel, TensorStore fineTuned, ShardSpec shard, string partPath, LoraExtractOptions? options = null,
        string? baseModelName = null, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(fineTuned);
        ArgumentException.ThrowIfNullOrEmpty(partPath);
        options ??= new LoraExtractOptions();
        var started = DateTime.UtcNow;
        var plan = LoraExtraction.Plan(baseModel, fineTuned, options, ct);
        var split = ShardPlan.Create(plan.Jobs.Select(j => (j.Name, JobCost(j, options))), shard.Count);
        bool adaptive = options.Energy is not null || options.SvEpsilon > 0;
        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var tensors = new List<(TensorInfo Info, float[] Values)>();
        int done = 0;
        foreach (var j in plan.Jobs.Where(j => split.Contains(shard, j.Name)))
        {
            ct.ThrowIfCancellationRequested();
            if (j.Kind == Kind.Full)
            {
                var values = LoraMath.Read(fineTuned, fineTuned.GetInfo(j.FineTunedName));
                tensors.Add((new TensorInfo(j.Name, DType.F32, j.Shape), values));
                items[j.Name] = new JsonObject { ["kind"] = "full" };
            }
            else if (LoraExtraction.Decompose(baseModel, fineTuned, j, options, adaptive ? null : LoraExtraction.FixedRank(j, options)) is { } f)
            {
                tensors.Add((new TensorInfo(j.Name + ":A", DType.F32, FactorShape(j, f.Stats.Rank, a: true)), f.A));
                tensors.Add((new TensorInfo(j.Name + ":B", DType.F32, FactorShape(j, f.Stats.Rank, a: false)), f.B));
                items[j.Name] = new JsonObject { ["kind"] = "lora", ["stats"] = WriteStats(f.Stats) };
            }
            else items[j.Name] = new JsonObject { ["kind"] = "dropped", ["reason"] = LoraExtraction.DroppedReason(options) };
            progress?.Report(++done);
        }
        PartAttachment? attachment = null;
        if (tensors.Count > 0)
        {
            string factorsPath = FactorsPath(partPath);
            string? dir = Path.GetDirectoryName(Path.GetFullPath(factorsPath));
            if (dir is not null) Directory.CreateDirectory(dir);
            using (var writer = SafetensorsWriter.Create(factorsPath, tensors.Select(t => t.Info).ToList()))
            {
                foreach (var (info, values) in tensors) writer.Write(info.Name, values);
                writer.Commit();
            }
            attachment = PartAttachment.Of(factorsPath);
        }
        var part = PartFile.Create(Verb, [baseModel, fineTuned], CanonicalOptions(options), shard, plan.Jobs.Select(j => j.Name), items, started,
            fineTuned.Path, WritePlan(plan, baseModelName), attachment);
        part.Write(partPath);
        return part;
    }

    /// <summary>Where a shard's factors go: beside its part.</summary>
    public static string FactorsPath(string partPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(partPath);
        return Path.ChangeExtension(partPath, null) + ".factors.safetensors";
    }

    /// <summary>The options that change the adapter, in a fixed form (JSON; <see cref="LoraExtractOptions.Overwrite"/> left out).</summary>
    public static string CanonicalOptions(LoraExtractOptions options) => JsonSerializer.Serialize(options with { Overwrite = false }, OptionsJson);

    /// <summary>Writes the adapter of the combined parts into <paramref name="outputDirectory"/>, as one run writes it.</summary>
    /// <exception cref="InvalidPartException">The parts are not LoRA-extraction parts, an attachment is missing, stale
    /// or lacks a factor, or an entry is malformed. Nothing is written then.</exception>
    /// <exception cref="WeightSpaceException">The output folder is not empty (without <paramref name="overwrite"/>).</exception>
    public static LoraExtractResult Combine(CombinedParts parts, string outputDirectory, bool overwrite = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Header.Verb != Verb) throw new InvalidPartException(null, $"the parts are of '{parts.Header.Verb}', not '{Verb}'");
        LoraExtractOptions options;
        ExtractionPlan plan;
        string? baseModelName;
        try
        {
            options = (JsonSerializer.Deserialize<LoraExtractOptions>(parts.Header.Options, OptionsJson) ?? throw new FormatException("no options")) with { Overwrite = overwrite };
            (plan, baseModelName) = ReadPlan(parts.Header.Context ?? throw new FormatException("no context"));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            throw new InvalidPartException(null, $"malformed lora-extract parts ({e.Message})", e);
        }
        // Every attachment is checked against its hash before anything is written.
        var stores = new List<TensorStore>();
        try
        {
            var storeOf = new Dictionary<string, (TensorStore Store, string Path)>(StringComparer.Ordinal);
            foreach (var p in parts.Parts)
            {
                if (p.Part.Attachment is not { } a) continue;
                string file = a.Verify(p.Path);
                var store = SafetensorsReader.Open(file);
                stores.Add(store);
                foreach (var name in p.Part.Items.Keys) storeOf[name] = (store, file);
            }
            var items = parts.Items.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            var notWritten = new SortedDictionary<string, string>(plan.NotWritten.ToDictionary(), StringComparer.Ordinal);
            var stats = new Dictionary<string, ExtractedModule>(StringComparer.Ordinal);
            foreach (var j in plan.Jobs)
            {
                var item = items[j.Name];
                string kind = item["kind"]?.GetValue<string>() ?? "";
                string expected = j.Kind == Kind.Full ? "full" : kind == "dropped" ? "dropped" : "lora";
                if (kind != expected) throw new InvalidPartException(null, $"tensor '{j.Name}': entry of kind '{kind}', the plan makes it '{expected}'");
                if (kind == "dropped") { notWritten[j.Name] = item["reason"]!.GetValue<string>(); continue; }
                if (kind == "lora") stats[j.Name] = ReadStats(item["stats"]!);
                if (!storeOf.TryGetValue(j.Name, out var s)) throw new InvalidPartException(null, $"tensor '{j.Name}': its part has no factors file");
                foreach (var suffix in kind == "lora" ? new[] { ":A", ":B" } : [""])
                    if (!s.Store.Contains(j.Name + suffix)) throw new InvalidPartException(s.Path, $"has no tensor '{j.Name + suffix}'");
            }
            float[] Read(Job j, string suffix)
            {
                var (store, path) = storeOf[j.Name];
                var info = store.GetInfo(j.Name + suffix);
                return info.DType == DType.F32 ? store.ReadSingle(info.Name) : throw new InvalidPartException(path, $"tensor '{info.Name}' is {info.DType}, not F32");
            }
            var source = new FactorSource(
                j => stats.TryGetValue(j.Name, out var st) ? st.Rank : null,
                j =>
                {
                    var (a, b) = (Read(j, ":A"), Read(j, ":B"));
                    var st = stats[j.Name];
                    long rank = st.Rank, rows = j.Kind == Kind.Embedding ? j.Shape[1] : j.Shape[0], cols = j.Kind == Kind.Embedding ? j.Shape[0] : j.Shape[1];
                    if (a.Length != rank * cols || b.Length != rows * rank)
                        throw new InvalidPartException(storeOf[j.Name].Path, $"factors of '{j.Name}' do not have rank {rank}");
                    return (a, b, st);
                },
                j => Read(j, ""));
            return LoraExtraction.Publish(plan, notWritten, source, outputDirectory, options, baseModelName, ct);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException or KeyNotFoundException)
        {
            throw new InvalidPartException(null, $"malformed lora-extract parts ({e.Message})", e);
        }
        finally
        {
            foreach (var s in stores) s.Dispose();
        }
    }

    private static double JobCost(Job j, LoraExtractOptions options) =>
        j.Kind == Kind.Full ? j.Shape.ElementCount : Cost(j.Shape[0], j.Shape[1], options);

    // Shapes of A and B as Decompose returns them: A [r, n], B [m, r] of ΔW (of ΔWᵀ for an embedding).
    private static Shape FactorShape(Job j, int rank, bool a)
    {
        long rows = j.Kind == Kind.Embedding ? j.Shape[1] : j.Shape[0], cols = j.Kind == Kind.Embedding ? j.Shape[0] : j.Shape[1];
        return a ? new Shape(rank, cols) : new Shape(rows, rank);
    }

    private static JsonObject WritePlan(ExtractionPlan plan, string? baseModelName) => new()
    {
        ["jobs"] = new JsonArray(plan.Jobs.Select(j => (JsonNode?)new JsonObject
        {
            ["name"] = j.Name, ["base"] = j.BaseName, ["finetuned"] = j.FineTunedName, ["module"] = j.Module, ["kind"] = j.Kind.ToString(),
            ["shape"] = new JsonArray(j.Shape.ToArray().Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()), ["reason"] = j.Reason,
        }).ToArray()),
        ["not_written"] = new JsonObject(plan.NotWritten.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
        ["unchanged"] = plan.Unchanged,
        ["base_model_name"] = baseModelName,
    };

    private static (ExtractionPlan, string?) ReadPlan(JsonObject c)
    {
        var jobs = (c["jobs"] as JsonArray ?? throw new FormatException("no jobs")).Select(n => new Job(n!["name"]!.GetValue<string>(), n["base"]!.GetValue<string>(),
            n["finetuned"]!.GetValue<string>(), n["module"]!.GetValue<string>(), Enum.Parse<Kind>(n["kind"]!.GetValue<string>()),
            new Shape((n["shape"] as JsonArray)!.Select(d => d!.GetValue<long>()).ToArray()), n["reason"]!.GetValue<string>())).ToList();
        if (jobs.Any(j => j.Kind != Kind.Full && j.Shape.Rank != 2)) throw new FormatException("a LoRA job is not 2-D");
        var notWritten = (c["not_written"] as JsonObject ?? throw new FormatException("no not_written")).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
        return (new ExtractionPlan(jobs, notWritten, c["unchanged"]!.GetValue<int>()), c["base_model_name"]?.GetValue<string>());
    }

    private static JsonObject WriteStats(ExtractedModule m) => new()
    {
        ["module"] = m.Module, ["rows"] = m.Rows, ["columns"] = m.Columns, ["rank"] = m.Rank,
        ["delta_norm"] = PartNumbers.Of(m.DeltaNorm), ["retained_energy"] = PartNumbers.Of(m.RetainedEnergy),
        ["relative_error"] = PartNumbers.Of(m.RelativeError), ["solver"] = m.Solver, ["embedding"] = m.IsEmbedding,
        ["outlier_changes"] = new JsonArray([.. m.OutlierChanges.Select(c => (JsonNode)new JsonObject
        {
            ["row"] = c.Row, ["column"] = c.Column, ["base"] = PartNumbers.Of(c.BaseValue), ["fine_tuned"] = PartNumbers.Of(c.FineTunedValue),
            ["extracted"] = PartNumbers.Of(c.ExtractedValue), ["ratio_to_rms"] = PartNumbers.Of(c.RatioToRms),
        })]),
    };

    private static ExtractedModule ReadStats(JsonNode n)
    {
        int rank = n["rank"]!.GetValue<int>();
        if (rank < 1) throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"rank {rank}"));
        string module = n["module"]!.GetValue<string>();
        var changes = (n["outlier_changes"] as JsonArray ?? []).Select(c => new LoraOutlierChange(module, c!["row"]!.GetValue<long>(), c["column"]!.GetValue<long>(),
            PartNumbers.Read(c["base"]), PartNumbers.Read(c["fine_tuned"]), PartNumbers.Read(c["extracted"]), PartNumbers.Read(c["ratio_to_rms"]))).ToList();
        return new ExtractedModule(module, n["rows"]!.GetValue<long>(), n["columns"]!.GetValue<long>(), rank,
            PartNumbers.Read(n["delta_norm"]), PartNumbers.Read(n["retained_energy"]), PartNumbers.Read(n["relative_error"]),
            n["solver"]!.GetValue<string>(), n["embedding"]!.GetValue<bool>()) { OutlierChanges = changes };
    }
}
