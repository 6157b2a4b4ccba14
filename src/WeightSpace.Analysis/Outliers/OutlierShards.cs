namespace WeightSpace.Analysis.Outliers;

/// <summary>The data-free outlier scan (<c>outliers --shard I/N --part FILE</c>) split over processes or cluster jobs,
/// and its combine.</summary>
/// <remarks>Cost per matrix: its element count (a widening read, a vectorised sum of squares and a block-skipping
/// top-N pass, all linear in the weights). Each part holds its matrices' RMS and top weights exactly; the combine
/// restores the scan's order, so the ranking over all matrices is the single run's. The super-weight detection
/// (<c>--text</c>) runs the whole model on text and is not split.</remarks>
public static class OutlierShards
{
    /// <summary>The verb name recorded in parts.</summary>
    public const string Verb = "outliers";

    /// <summary>Estimated cost of scanning a matrix: its element count.</summary>
    public static double Cost(TensorInfo matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return matrix.ElementCount;
    }

    /// <summary>The split of the scanned matrices into <paramref name="count"/> shards, from the header alone.</summary>
    /// <exception cref="InvalidCheckpointException">No tensor qualifies.</exception>
    public static ShardPlan Plan(TensorStore store, OutlierScanOptions options, int count)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        return ShardPlan.Create(OutlierScan.Scanned(store, options).Select(t => (t.Name, Cost(t))), count);
    }

    /// <summary>Scans the matrices of one shard and returns its part.</summary>
    /// <param name="store">The whole checkpoint.</param>
    /// <param name="model">The model as the result names it (the path given on the command line).</param>
    /// <param name="options">The scan options (the same for every shard).</param>
    /// <param name="listed">How many outliers the result ranks over all matrices (<c>--list</c>).</param>
    /// <param name="shard">Which shard.</param>
    /// <param name="progress">Receives the number of matrices done.</param>
    /// <param name="cancellationToken">Checked between matrices.</param>
    /// <exception cref="InvalidCheckpointException">No tensor qualifies, or a tensor's data is malformed.</exception>
    public static PartFile AnalyzeShard(TensorStore store, string model, OutlierScanOptions options, int listed, ShardSpec shard,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(listed, 0);
        var started = DateTime.UtcNow;
        var scanned = OutlierScan.Scanned(store, options);
        var plan = ShardPlan.Create(scanned.Select(t => (t.Name, Cost(t))), shard.Count);
        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var m in OutlierScan.ScanMatrices(store, options, name => plan.Contains(shard, name), progress, cancellationToken))
            items[m.Tensor] = new JsonObject
            {
                ["shape"] = new JsonArray(m.Shape.ToArray().Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["rms"] = PartNumbers.Of(m.Rms),
                ["outliers"] = new JsonArray(m.Outliers.Select(o => (JsonNode?)new JsonObject
                {
                    ["row"] = o.Row,
                    ["column"] = o.Column,
                    ["value"] = PartNumbers.Of(o.Value),
                    ["ratio_to_rms"] = PartNumbers.Of(o.RatioToRms),
                }).ToArray()),
            };
        string canonical = string.Create(CultureInfo.InvariantCulture,
            $"top={options.TopPerMatrix}\nfilter={(options.Filter is null ? "" : $"{options.Filter}/{options.Filter.Options}")}\nlist={listed}");
        return PartFile.Create(Verb, [store], canonical, shard, scanned.Select(t => t.Name), items, started, store.Path,
            new JsonObject { ["model"] = model, ["list"] = listed });
    }

    /// <summary>The scan of the whole run from its combined parts.</summary>
    /// <returns>The model as named, every matrix in the scan's order, and the <c>--list</c> count of the run.</returns>
    /// <exception cref="InvalidPartException">The parts are not outlier parts, or an entry is malformed.</exception>
    public static (string Model, IReadOnlyList<MatrixOutliers> Matrices, int Listed) Combine(CombinedParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Header.Verb != Verb) throw new InvalidPartException(null, $"the parts are of '{parts.Header.Verb}', not '{Verb}'");
        var c = parts.Header.Context ?? throw new InvalidPartException(null, "outlier parts without a context");
        var matrices = new List<MatrixOutliers>(parts.Items.Count);
        foreach (var (tensor, n) in parts.Items)
        {
            try
            {
                var shape = new Shape(((JsonArray)n["shape"]!).Select(d => d!.GetValue<long>()).ToArray());
                var name = TensorNames.Parse(tensor);
                var outliers = ((JsonArray)n["outliers"]!).Select(o => new WeightOutlier(tensor, name.Layer, o!["row"]!.GetValue<long>(), o["column"]!.GetValue<long>(),
                    (float)PartNumbers.Read(o["value"]), PartNumbers.Read(o["ratio_to_rms"]))).ToList();
                matrices.Add(new MatrixOutliers(tensor, name.Layer, name.Role, shape, PartNumbers.Read(n["rms"]), outliers));
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException or InvalidCastException or ArgumentException)
            {
                throw new InvalidPartException(null, $"tensor '{tensor}': malformed outlier entry ({e.Message})", e);
            }
        }
        try
        {
            int listed = c["list"]!.GetValue<int>();
            if (listed < 0) throw new FormatException($"list {listed}");
            return (c["model"]!.GetValue<string>(), matrices, listed);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new InvalidPartException(null, $"malformed outlier context ({e.Message})", e);
        }
    }
}
