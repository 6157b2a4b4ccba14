namespace WeightSpace.Analysis.Quantization;

/// <summary>The quantisation-error diff (<c>diff REF.gguf QUANT.gguf --shard I/N --part FILE</c>) split over
/// processes or cluster jobs, and its combine.</summary>
/// <remarks>Cost per tensor: its element count. The work is a dequantisation and three float64 sums per element, linear
/// in the elements (a block-quantised tensor's dequantisation costs a few operations per element whatever the type).
/// The per-tensor errors are stored exactly; the summary, by-role and by-layer means are recomputed from all of them
/// in the reference's order, as one run computes them.</remarks>
public static class QuantizationShards
{
    /// <summary>The verb name recorded in parts (the CLI verb is <c>diff</c>; the parts say which report they hold).</summary>
    public const string Verb = "diff-quantization";

    /// <summary>Estimated cost of a tensor: its element count.</summary>
    public static double Cost(TensorInfo info) => info.ElementCount;

    /// <summary>The split of the compared tensors into <paramref name="count"/> shards.</summary>
    public static ShardPlan Plan(TensorStore reference, TensorStore quantized, int count) =>
        ShardPlan.Create(QuantizationErrorReport.Compared(reference, quantized).Select(t => (t.Name, Cost(t))), count);

    /// <summary>Computes the errors of one shard's tensors and returns its part.</summary>
    /// <exception cref="WeightSpaceException">The models share no tensor.</exception>
    public static PartFile AnalyzeShard(TensorStore reference, TensorStore quantized, ShardSpec shard, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(quantized);
        var started = DateTime.UtcNow;
        var compared = QuantizationErrorReport.Compared(reference, quantized);
        var plan = ShardPlan.Create(compared.Select(t => (t.Name, Cost(t))), shard.Count);
        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        int done = 0;
        foreach (var r in compared.Where(t => plan.Contains(shard, t.Name)))
        {
            ct.ThrowIfCancellationRequested();
            var e = QuantizationErrorReport.ComputeTensor(reference, quantized, r);
            var o = new JsonObject
            {
                ["reference_dtype"] = e.ReferenceDType.ToString(),
                ["dtype"] = e.QuantizedDType.ToString(),
                ["elements"] = e.ElementCount,
                ["relative_l2"] = PartNumbers.Of(e.RelativeL2),
                ["snr_db"] = PartNumbers.Of(e.SnrDb),
                ["max_abs_error"] = PartNumbers.Of(e.MaxAbsError),
                ["role"] = e.Role,
            };
            if (e.Layer is int layer) o["layer"] = layer;
            items[r.Name] = o;
            progress?.Report(++done);
        }
        return PartFile.Create(Verb, [reference, quantized], "", shard, compared.Select(t => t.Name), items, started, quantized.Path,
            new JsonObject { ["reference"] = reference.Path, ["quantized"] = quantized.Path });
    }

    /// <summary>The report of the whole run from its combined parts.</summary>
    /// <exception cref="InvalidPartException">The parts are not quantisation-error parts, or an entry is malformed.</exception>
    public static QuantizationErrorReport Combine(CombinedParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Header.Verb != Verb) throw new InvalidPartException(null, $"the parts are of '{parts.Header.Verb}', not '{Verb}'");
        var c = parts.Header.Context ?? throw new InvalidPartException(null, "quantisation-error parts without a context");
        var tensors = new List<TensorQuantizationError>();
        foreach (var (name, n) in parts.Items)
        {
            try
            {
                tensors.Add(new TensorQuantizationError(name, ParseDType(n["reference_dtype"]!.GetValue<string>()), ParseDType(n["dtype"]!.GetValue<string>()),
                    n["elements"]!.GetValue<long>(), PartNumbers.Read(n["relative_l2"]), PartNumbers.Read(n["snr_db"]), PartNumbers.Read(n["max_abs_error"]),
                    n["layer"]?.GetValue<int>(), n["role"]!.GetValue<string>()));
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
            {
                throw new InvalidPartException(null, $"tensor '{name}': malformed entry ({e.Message})", e);
            }
        }
        try { return new QuantizationErrorReport(c["reference"]!.GetValue<string>(), c["quantized"]!.GetValue<string>(), tensors); }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException)
        {
            throw new InvalidPartException(null, $"malformed quantisation-error context ({e.Message})", e);
        }
    }

    private static DType ParseDType(string text) =>
        Enum.TryParse<DType>(text, ignoreCase: false, out var d) && Enum.IsDefined(d) && !int.TryParse(text, out _) ? d : throw new FormatException($"unknown dtype '{text}'");
}
