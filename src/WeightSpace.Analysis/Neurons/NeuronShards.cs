namespace WeightSpace.Analysis.Neurons;

/// <summary>Neuron decoding split over processes or cluster jobs (<c>neurons --shard I/N --part FILE</c>), and the
/// combine that turns the parts back into the decoding one run gives.</summary>
/// <remarks>The work items are the decoded matrices (one per MLP layer). A matrix's cost is vocabulary × its elements:
/// the multiply-adds of U·diag(γ)·W, which dominate the read, the top-k and (with a baseline, twice over) the
/// comparison. Each part holds its matrices' top-k ids and logits and, with a baseline, the baseline's and the per-neuron
/// overlap and cosine, exactly (float32 values round-trip through JSON doubles); the combine restores block order and
/// ranks the neurons that changed most over all layers, as one run does.</remarks>
public static class NeuronShards
{
    /// <summary>The verb name recorded in parts.</summary>
    public const string Verb = "neurons";

    /// <summary>Estimated cost of decoding <paramref name="matrix"/> through an unembedding of
    /// <paramref name="vocabularySize"/> rows.</summary>
    public static double Cost(TensorInfo matrix, long vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return (double)matrix.ElementCount * vocabularySize;
    }

    /// <summary>The split of the matrices a run decodes into <paramref name="count"/> shards, from the header alone.</summary>
    /// <exception cref="InvalidCheckpointException">No unembedding, or no matrix to decode.</exception>
    public static ShardPlan Plan(TensorStore model, NeuronDecodingOptions options, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var (matrices, vocabulary) = NeuronDecoder.Plan(model, options);
        return ShardPlan.Create(matrices.Select(m => (m.Name, Cost(m, vocabulary))), count);
    }

    /// <summary>Decodes the matrices of one shard and returns its part.</summary>
    /// <exception cref="InvalidCheckpointException">As <see cref="NeuronDecoder.Decode(TensorStore, TensorStore?, NeuronDecodingOptions?, IProgress{int}?, CancellationToken)"/>.</exception>
    public static PartFile AnalyzeShard(TensorStore model, TensorStore? baseline, NeuronDecodingOptions options, ShardSpec shard,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        NeuronDecoder.Validate(options);
        var started = DateTime.UtcNow;
        var (matrices, vocabulary) = NeuronDecoder.Plan(model, options);
        var plan = ShardPlan.Create(matrices.Select(m => (m.Name, Cost(m, vocabulary))), shard.Count);
        var result = NeuronDecoder.DecodeMatrices(model, baseline, options, name => plan.Contains(shard, name), progress, cancellationToken);
        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var l in result.Layers) items[l.Tensor] = Item(l);
        var context = new JsonObject
        {
            ["model"] = result.Model,
            ["baseline"] = result.Baseline,
            ["unembedding"] = result.Unembedding,
            ["final_norm"] = result.FinalNorm,
            ["top_k"] = result.TopK,
            ["most_changed"] = options.MostChanged,
        };
        return PartFile.Create(Verb, baseline is null ? [model] : [model, baseline], CanonicalOptions(options), shard, matrices.Select(m => m.Name),
            items, started, model.Path, context);
    }

    /// <summary>The decoding of the whole run from its combined parts.</summary>
    /// <exception cref="InvalidPartException">The parts are not neuron parts, or an entry is malformed.</exception>
    public static NeuronDecoding Combine(CombinedParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Header.Verb != Verb) throw new InvalidPartException(null, $"the parts are of '{parts.Header.Verb}', not '{Verb}'");
        var c = parts.Header.Context ?? throw new InvalidPartException(null, "neuron parts without a context");
        try
        {
            string model = c["model"]!.GetValue<string>();
            string? baseline = c["baseline"]?.GetValue<string>();
            int k = c["top_k"]!.GetValue<int>();
            int most = c["most_changed"]!.GetValue<int>();
            if (k is < 1 or > 1024 || most < 0) throw new FormatException($"top_k {k} or most_changed {most} out of range");
            var layers = parts.Items.Select(kv => Layer(kv.Key, kv.Value, k, baseline is not null)).ToList();
            return new NeuronDecoding
            {
                Model = model,
                Baseline = baseline,
                Unembedding = c["unembedding"]!.GetValue<string>(),
                FinalNorm = c["final_norm"]?.GetValue<string>(),
                TopK = k,
                Layers = layers,
                MostChanged = baseline is null ? [] : NeuronDecoder.MostChanged(layers, most),
            };
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException or OverflowException)
        {
            throw new InvalidPartException(null, $"malformed neuron part ({e.Message})", e);
        }
    }

    /// <summary>The options that change the result, in a fixed form.</summary>
    private static string CanonicalOptions(NeuronDecodingOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"top_k={o.TopK}\nlayer={o.Layer?.ToString(CultureInfo.InvariantCulture) ?? "all"}\nmatrix={(o.Matrix is null ? "down_proj" : $"{o.Matrix}/{o.Matrix.Options}")}\n" +
        $"final_norm={o.ApplyFinalNorm}\nmost_changed={o.MostChanged}\nchunk_elements={o.ChunkElements}");

    private static JsonObject Item(NeuronLayer l)
    {
        var o = new JsonObject
        {
            ["layer"] = l.Layer,
            ["neuron_count"] = l.NeuronCount,
            ["token_ids"] = Ints(l.TokenIds),
            ["logits"] = Floats(l.Logits),
        };
        if (l.BaselineTokenIds is not null)
        {
            o["baseline_token_ids"] = Ints(l.BaselineTokenIds);
            o["baseline_logits"] = Floats(l.BaselineLogits!);
            o["top_k_overlap"] = Floats(l.TopKOverlap!);
            o["logit_cosine"] = Floats(l.LogitCosine!);
        }
        return o;
    }

    private static NeuronLayer Layer(string tensor, JsonNode n, int k, bool compared)
    {
        int neurons = n["neuron_count"]!.GetValue<int>();
        if (neurons < 0) throw new FormatException($"tensor '{tensor}': neuron_count {neurons}");
        long perToken = checked((long)neurons * k);
        int[] ReadInts(string key, long length) => Check(tensor, key, n[key], length, v => v.GetValue<int>());
        float[] ReadFloats(string key, long length) => Check(tensor, key, n[key], length, v => (float)PartNumbers.Read(v));
        return new NeuronLayer
        {
            Tensor = tensor,
            Layer = n["layer"]?.GetValue<int>(),
            NeuronCount = neurons,
            TopK = k,
            TokenIds = ReadInts("token_ids", perToken),
            Logits = ReadFloats("logits", perToken),
            BaselineTokenIds = compared ? ReadInts("baseline_token_ids", perToken) : null,
            BaselineLogits = compared ? ReadFloats("baseline_logits", perToken) : null,
            TopKOverlap = compared ? ReadFloats("top_k_overlap", neurons) : null,
            LogitCosine = compared ? ReadFloats("logit_cosine", neurons) : null,
        };
    }

    private static T[] Check<T>(string tensor, string key, JsonNode? node, long length, Func<JsonNode, T> read)
    {
        if (node is not JsonArray array) throw new FormatException($"tensor '{tensor}': '{key}' is not an array");
        if (array.Count != length) throw new FormatException($"tensor '{tensor}': '{key}' has {array.Count} values, expected {length}");
        var values = new T[array.Count];
        for (int i = 0; i < values.Length; i++) values[i] = read(array[i] ?? throw new FormatException($"tensor '{tensor}': '{key}'[{i}] is null"));
        return values;
    }

    private static JsonArray Ints(int[] values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    private static JsonArray Floats(float[] values) => PartNumbers.Array(values.Select(v => (double)v));
}
