namespace WeightSpace.Analysis.Spectra;

/// <summary>A spectrum analysis split over processes or cluster jobs (<c>spectrum --shard I/N --part FILE</c>), and
/// the combine step that turns the parts back into the report one run gives.</summary>
/// <remarks>Tensors are split by <see cref="ShardPlan"/> with the cost of a dense solve, rows·cols·min(rows, cols)
/// (zero for tensors that are not matrices), so every task computes the same split from the checkpoint's header alone.
/// Each part holds every entry of its tensors exactly as the single run would compute them; the combine restores
/// checkpoint order and recomputes the summary from all entries.</remarks>
public static class SpectrumShards
{
    /// <summary>The verb name recorded in parts.</summary>
    public const string Verb = "spectrum";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Estimated cost of a tensor's solve.</summary>
    public static double Cost(TensorInfo info)
    {
        if (info.Shape.Rank < 2) return 0;
        double rows = info.Shape[0], cols = (double)info.ElementCount / Math.Max(1, info.Shape[0]);
        return rows * cols * Math.Min(rows, cols);
    }

    /// <summary>The split of <paramref name="store"/>'s tensors into <paramref name="count"/> shards.</summary>
    public static ShardPlan Plan(TensorStore store, int count) =>
        ShardPlan.Create(store.Tensors.Select(t => (t.Name, Cost(t))), count);

    /// <summary>Analyses the tensors of one shard and returns its part.</summary>
    /// <param name="store">The whole checkpoint.</param>
    /// <param name="shard">Which shard.</param>
    /// <param name="options">The analysis options (the same for every shard).</param>
    /// <param name="layoutNote">How the weight layout was chosen, as the single run prints it.</param>
    /// <param name="progress">Progress over this shard's tensors.</param>
    /// <param name="cancellationToken">Stops the analysis.</param>
    public static PartFile AnalyzeShard(TensorStore store, ShardSpec shard, SpectrumOptions options, string layoutNote,
        IProgress<SpectrumProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var plan = Plan(store, shard.Count);
        using var subset = new SubsetTensorStore(store, t => plan.Contains(shard, t.Name));
        var started = DateTime.UtcNow;
        var report = SpectrumAnalyzer.Analyze(subset, options, progress, cancellationToken);
        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var info in subset.Tensors)
        {
            var entries = report.Layers.Where(l => BelongsTo(l.Name, info.Name)).ToList();
            items[info.Name] = JsonSerializer.SerializeToNode(entries, Json)!;
        }
        return PartFile.Create(Verb, [store], SpectrumCache.CanonicalOptions(options) + "\nlayout=" + layoutNote, shard, store.Tensors.Select(t => t.Name),
            items, started, store.Path);
    }

    /// <summary>The report of the whole run from its combined parts.</summary>
    /// <returns>The report and the layout note the shards recorded.</returns>
    /// <exception cref="InvalidPartException">The parts are not spectrum parts, or an entry is malformed.</exception>
    public static (SpectrumReport Report, string LayoutNote) Combine(CombinedParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Header.Verb != Verb) throw new InvalidPartException(null, $"the parts are of '{parts.Header.Verb}', not '{Verb}'");
        var layers = new List<LayerSpectrum>();
        foreach (var (name, node) in parts.Items)
        {
            List<LayerSpectrum>? entries;
            try { entries = node.Deserialize<List<LayerSpectrum>>(Json); }
            catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
            {
                throw new InvalidPartException(null, $"tensor '{name}': malformed entry ({e.Message})", e);
            }
            if (entries is null || entries.Count == 0) throw new InvalidPartException(null, $"tensor '{name}': no entries");
            layers.AddRange(entries);
        }
        string path = parts.Header.Provenance?["path"]?.GetValue<string>() ?? "";
        int layout = parts.Header.Options.LastIndexOf("\nlayout=", StringComparison.Ordinal);
        string note = layout < 0 ? "" : parts.Header.Options[(layout + "\nlayout=".Length)..];
        return (new SpectrumReport(path, layers, SpectrumSummaries.Summarize(layers)), note);
    }

    private static bool BelongsTo(string entry, string tensor) =>
        entry == tensor || (entry.Length > tensor.Length && entry.StartsWith(tensor, StringComparison.Ordinal) && entry[tensor.Length] == '[');
}
