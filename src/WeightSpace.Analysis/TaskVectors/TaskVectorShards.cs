namespace WeightSpace.Analysis.TaskVectors;

/// <summary><c>diff --shard I/N --part FILE</c>: the task-vector analysis split over processes or cluster jobs, and
/// the combine that gives the report of one run.</summary>
/// <remarks>Tensors are split by <see cref="ShardPlan"/> with cost m·(elements + rows·cols·min(rows, cols)) for m
/// fine-tunes: the reads, differences and top-share selections are linear in the elements, the SVD of a 2-D Δ (when
/// <see cref="TaskVectorOptions.SingularValueCount"/> &gt; 0 and it is within <see cref="TaskVectorOptions.MaxSpectrumElements"/>)
/// cubic. A part holds, per tensor, its summary and its contribution to the group and whole-model sums (dot products,
/// sign counts, |Δ| histograms); the combine adds the contributions in the single run's order, so every aggregate is
/// the same to the bit.</remarks>
public static class TaskVectorShards
{
    /// <summary>The verb name recorded in parts.</summary>
    public const string Verb = "diff";

    /// <summary>Estimated cost of one tensor for <paramref name="models"/> fine-tunes.</summary>
    public static double Cost(TensorInfo info, TaskVectorOptions options, int models)
    {
        ArgumentNullException.ThrowIfNull(options);
        double elements = info.ElementCount, svd = 0;
        if (info.Shape.Rank == 2 && options.SingularValueCount > 0 && info.ElementCount > 0 && info.ElementCount <= options.MaxSpectrumElements)
        {
            double rows = info.Shape[0], cols = info.Shape[1];
            svd = rows * cols * Math.Min(rows, cols);
        }
        return models * (elements + svd);
    }

    /// <summary>The split of the analysed tensors of <paramref name="baseModel"/> into <paramref name="count"/> shards.</summary>
    /// <exception cref="ModelMismatchException">The models do not match and mismatches are not skipped.</exception>
    public static ShardPlan Plan(TensorStore baseModel, IReadOnlyList<TensorStore> fineTuned, TaskVectorOptions options, int count)
    {
        var (tensors, _) = TaskVectorAnalysis.Tensors(baseModel, fineTuned, options);
        return ShardPlan.Create(tensors.Select(t => (t.Name, Cost(t, options, fineTuned.Count))), count);
    }

    /// <summary>Analyses the tensors of one shard and returns its part.</summary>
    /// <param name="baseModel">The base θ₀.</param>
    /// <param name="fineTuned">The fine-tunes, in report order.</param>
    /// <param name="shard">Which shard.</param>
    /// <param name="options">The same for every shard.</param>
    /// <param name="rankingCount">How many groups the combined JSON ranks (<c>--top</c>), recorded so the combine writes what the single run writes.</param>
    /// <param name="progress">Tensors done in this shard.</param>
    /// <param name="ct">Checked between tensors.</param>
    /// <exception cref="ModelMismatchException">The models do not match and mismatches are not skipped; nothing is read.</exception>
    public static PartFile AnalyzeShard(TensorStore baseModel, IReadOnlyList<TensorStore> fineTuned, ShardSpec shard, TaskVectorOptions options,
        int rankingCount = int.MaxValue, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(fineTuned);
        ArgumentNullException.ThrowIfNull(options);
        var started = DateTime.UtcNow;
        var (tensors, mismatches) = TaskVectorAnalysis.Tensors(baseModel, fineTuned, options);
        var plan = ShardPlan.Create(tensors.Select(t => (t.Name, Cost(t, options, fineTuned.Count))), shard.Count);
        bool histograms = options.TopFractions.Count > 0;
        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        int done = 0;
        foreach (var info in tensors.Where(t => plan.Contains(shard, t.Name)))
        {
            ct.ThrowIfCancellationRequested();
            var (summary, contribution) = TaskVectorAnalysis.AnalyzeTensor(info, baseModel, fineTuned, options, histograms);
            items[info.Name] = new JsonObject { ["summary"] = WriteSummary(summary), ["contribution"] = WriteContribution(contribution) };
            progress?.Report(++done);
        }
        var context = new JsonObject
        {
            ["base"] = baseModel.Path,
            ["models"] = new JsonArray(fineTuned.Select(f => (JsonNode?)JsonValue.Create(f.Path)).ToArray()),
            ["top_fractions"] = PartNumbers.Array(options.TopFractions),
            ["ranking_count"] = rankingCount,
            ["mismatches"] = new JsonArray((options.SkipMismatched ? mismatches : []).Select(m =>
                (JsonNode?)new JsonObject { ["model"] = m.Model, ["tensor"] = m.Tensor, ["detail"] = m.Detail }).ToArray()),
        };
        return PartFile.Create(Verb, [baseModel, .. fineTuned], CanonicalOptions(options), shard, tensors.Select(t => t.Name), items, started, baseModel.Path, context);
    }

    /// <summary>The options that change the result, in a fixed form.</summary>
    public static string CanonicalOptions(TaskVectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.Create(CultureInfo.InvariantCulture,
            $"top_fractions={string.Join(",", options.TopFractions.Select(f => f.ToString("R", CultureInfo.InvariantCulture)))};sv={options.SingularValueCount};max_sv_elements={options.MaxSpectrumElements};skip_mismatched={options.SkipMismatched}");
    }

    /// <summary>The report of the whole run from its combined parts, with the fractions and ranking length the run used.</summary>
    /// <exception cref="InvalidPartException">The parts are not diff parts, or an entry is malformed.</exception>
    public static (TaskVectorReport Report, IReadOnlyList<double> TopFractions, int RankingCount) Combine(CombinedParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Header.Verb != Verb) throw new InvalidPartException(null, $"the parts are of '{parts.Header.Verb}', not '{Verb}'");
        var c = parts.Header.Context ?? throw new InvalidPartException(null, "diff parts without a context");
        try
        {
            var models = (c["models"] as JsonArray)!.Select(n => n!.GetValue<string>()).ToArray();
            var fractions = PartNumbers.ReadArray(c["top_fractions"]);
            int ranking = c["ranking_count"]!.GetValue<int>();
            var mismatches = (c["mismatches"] as JsonArray)!.Select(n => new TensorMismatch(n!["model"]!.GetValue<string>(), n["tensor"]!.GetValue<string>(), n["detail"]!.GetValue<string>())).ToList();
            var names = parts.Items.Select(i => i.Key).ToList();
            var (tensors, groups, whole) = TaskVectorAnalysis.Assemble(names, models.Length, fractions, i =>
            {
                var node = parts.Items[i].Value;
                try { return (ReadSummary(node["summary"]!, models.Length), ReadContribution(node["contribution"]!, models.Length, fractions.Length > 0)); }
                catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException or IndexOutOfRangeException or InvalidCastException)
                {
                    throw new InvalidPartException(null, $"tensor '{names[i]}': malformed entry ({e.Message})", e);
                }
            }, null, CancellationToken.None);
            return (new TaskVectorReport(c["base"]!.GetValue<string>(), models, tensors, groups, whole, mismatches), fractions, ranking);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new InvalidPartException(null, $"malformed diff context ({e.Message})", e);
        }
    }

    private static JsonObject WriteSummary(DeltaSummary s) => new()
    {
        ["name"] = s.Name,
        ["elements"] = s.ElementCount,
        ["base_norm"] = PartNumbers.Of(s.BaseNorm),
        ["models"] = new JsonArray(s.Models.Select(m =>
        {
            var o = new JsonObject
            {
                ["norm"] = PartNumbers.Of(m.Norm),
                ["relative_change"] = PartNumbers.Of(m.RelativeChange),
                ["top_mass"] = PartNumbers.Array(m.TopMassFractions),
                ["top_singular_values"] = PartNumbers.Array(m.TopSingularValues),
            };
            if (m.EffectiveRank is double r) o["effective_rank"] = PartNumbers.Of(r);
            return (JsonNode?)o;
        }).ToArray()),
        ["cosine"] = Matrix(s.Cosine),
        ["sign_agreement"] = Matrix(s.SignAgreement),
        ["sign_conflict"] = Matrix(s.SignConflict),
    };

    private static DeltaSummary ReadSummary(JsonNode n, int m)
    {
        var models = (n["models"] as JsonArray)!.Select(x => new ModelDelta(PartNumbers.Read(x!["norm"]), PartNumbers.Read(x["relative_change"]),
            PartNumbers.ReadArray(x["top_mass"]), x["effective_rank"] is { } r ? PartNumbers.Read(r) : null, PartNumbers.ReadArray(x["top_singular_values"]))).ToArray();
        if (models.Length != m) throw new FormatException($"{models.Length} models, the run has {m}");
        return new DeltaSummary(n["name"]!.GetValue<string>(), n["elements"]!.GetValue<long>(), PartNumbers.Read(n["base_norm"]), models,
            ReadMatrix(n["cosine"], m), ReadMatrix(n["sign_agreement"], m), ReadMatrix(n["sign_conflict"], m));
    }

    private static JsonObject WriteContribution(TensorContribution c)
    {
        var o = new JsonObject
        {
            ["count"] = c.Count,
            ["base_sq"] = PartNumbers.Of(c.BaseSq),
            ["dot"] = PartNumbers.Array(c.Dot),
            ["agree"] = new JsonArray(c.Agree.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["conflict"] = new JsonArray(c.Conflict.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
        };
        if (c.Histograms is not null)
            o["histograms"] = new JsonArray(c.Histograms.Select(h =>
            {
                var (bins, counts, mass, total, totalMass) = h.Export();
                return (JsonNode?)new JsonObject
                {
                    ["bins"] = new JsonArray(bins.Select(b => (JsonNode?)JsonValue.Create(b)).ToArray()),
                    ["counts"] = new JsonArray(counts.Select(b => (JsonNode?)JsonValue.Create(b)).ToArray()),
                    ["mass"] = PartNumbers.Array(mass),
                    ["total"] = total,
                    ["total_mass"] = PartNumbers.Of(totalMass),
                };
            }).ToArray());
        return o;
    }

    private static TensorContribution ReadContribution(JsonNode n, int m, bool histograms)
    {
        long[] Longs(string key) => (n[key] as JsonArray)!.Select(x => x!.GetValue<long>()).ToArray();
        var dot = PartNumbers.ReadArray(n["dot"]);
        var agree = Longs("agree");
        var conflict = Longs("conflict");
        if (dot.Length != m * m || agree.Length != m * m || conflict.Length != m * m) throw new FormatException($"sums are not {m}×{m}");
        MassHistogram[]? h = null;
        if (histograms)
        {
            h = (n["histograms"] as JsonArray ?? throw new FormatException("no histograms")).Select(x => MassHistogram.Import(
                (x!["bins"] as JsonArray)!.Select(v => v!.GetValue<int>()).ToArray(), (x["counts"] as JsonArray)!.Select(v => v!.GetValue<long>()).ToArray(),
                PartNumbers.ReadArray(x["mass"]), x["total"]!.GetValue<long>(), PartNumbers.Read(x["total_mass"]))).ToArray();
            if (h.Length != m) throw new FormatException($"{h.Length} histograms, the run has {m} models");
        }
        return new TensorContribution(n["count"]!.GetValue<long>(), PartNumbers.Read(n["base_sq"]), dot, agree, conflict, h);
    }

    private static JsonArray Matrix(double[][] matrix) => new(matrix.Select(row => (JsonNode?)PartNumbers.Array(row)).ToArray());

    private static double[][] ReadMatrix(JsonNode? node, int m)
    {
        var rows = (node as JsonArray ?? throw new FormatException("expected a matrix")).Select(PartNumbers.ReadArray).ToArray();
        if (rows.Length != m || rows.Any(r => r.Length != m)) throw new FormatException($"a matrix is not {m}×{m}");
        return rows;
    }
}
