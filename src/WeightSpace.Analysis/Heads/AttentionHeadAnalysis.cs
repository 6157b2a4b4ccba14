using static TorchSharp.torch;

namespace WeightSpace.Analysis.Heads;

/// <summary>Per-head spectra of the QK and OV circuits of every attention layer, data-free and GQA-aware, and which
/// heads changed most against a baseline checkpoint.</summary>
/// <remarks>
/// <para>With Hugging Face's nn.Linear layout ([out, in]), head h's query rows are q_proj[h·d_h … (h+1)·d_h), its key
/// and value rows those of KV head g = h / (H / KV) in k_proj and v_proj (<c>repeat_kv</c>), and its output columns
/// o_proj[:, h·d_h … (h+1)·d_h). Then W_QK,h = W_Q,hᵀ W_K,g and W_OV,h = W_O,h W_V,g are d × d of rank ≤ d_h.</para>
/// <para>No d × d matrix is formed: both are products X Yᵀ of [d, d_h] factors (X = W_Q,hᵀ, Y = W_K,gᵀ; X = W_O,h,
/// Y = W_V,gᵀ) whose singular values are exactly those of the d_h × d_h core R_x R_yᵀ of their thin QR factors, in
/// float64. The change against a baseline is exact the same way: X₁Y₁ᵀ − X₀Y₀ᵀ = [X₁, −X₀][Y₁, Y₀]ᵀ. Biases are not part
/// of the circuits, and rotary embeddings (which make the QK form depend on the relative position) are left out, as in
/// the circuits literature: W_QK is the position-free bilinear form.</para>
/// <para>One layer's four projections are resident at a time, in float32, plus float64 batches of heads bounded by
/// <see cref="AttentionHeadOptions.MaxBatchElements"/>.</para>
/// </remarks>
public static class AttentionHeadAnalysis
{
    /// <summary>The head layout of <paramref name="model"/>: from the options, the config.json beside it or its GGUF
    /// metadata (else those of <paramref name="sameArchitecture"/>, e.g. the base of an adapter), with head_dim inferred
    /// from the query projection when nothing states it.</summary>
    /// <exception cref="InvalidHeadLayoutException">No source names the head count, or the counts do not fit the shapes.</exception>
    public static HeadLayout ResolveLayout(TensorStore model, AttentionHeadOptions? options = null, TensorStore? sameArchitecture = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new AttentionHeadOptions();
        var layers = Projections(model);
        var layout = HeadLayout.Discover(model.Path, model.Metadata, options.HeadCount, options.KeyValueHeadCount)
            ?? (sameArchitecture is null ? null : HeadLayout.Discover(sameArchitecture.Path, sameArchitecture.Metadata, options.HeadCount, options.KeyValueHeadCount))
            ?? throw new InvalidHeadLayoutException(model.Path, "no config.json beside it and no GGUF metadata names num_attention_heads; give --heads (and --kv-heads)");
        if (layout.HeadDim > 0) return layout;
        var first = layers.Values.First();
        string tensor = first.Query ?? first.Fused!;
        var shape = model.GetInfo(tensor).Shape;
        long rows = first.Fused is null ? shape[0] : first.Conv1D ? shape[1] : shape[0];
        long parts = first.Fused is null ? layout.HeadCount : layout.HeadCount + 2L * layout.KeyValueHeadCount;
        if (rows % parts != 0 || rows / parts > 65536)
            throw new InvalidHeadLayoutException($"{model.Path}: tensor '{tensor}'", $"has {rows} rows, not a multiple of {parts} ({layout.HeadCount} heads{(first.Fused is null ? "" : $" + 2 × {layout.KeyValueHeadCount} KV heads")})");
        return layout with { HeadDim = (int)(rows / parts) };
    }

    /// <summary>Analyses every head of <paramref name="model"/> (or of one layer).</summary>
    /// <param name="model">The checkpoint (Hugging Face, GPT-2, BERT or GGUF names; see <see cref="Naming.TensorNames"/>).</param>
    /// <param name="baseline">A checkpoint of the same architecture to measure the change against, or null.</param>
    /// <param name="options">Layer, head counts; defaults if null.</param>
    /// <param name="progress">Receives the number of layers done.</param>
    /// <param name="ct">Checked between batches of heads.</param>
    /// <exception cref="InvalidHeadLayoutException">No attention projections, head counts that do not fit, a layer that
    /// does not exist, or a baseline whose shapes differ.</exception>
    public static AttentionHeadReport Analyze(TensorStore model, TensorStore? baseline = null, AttentionHeadOptions? options = null,
        IProgress<int>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new AttentionHeadOptions();
        var layers = Projections(model);
        // The baseline has the model's architecture (its shapes are checked below), so its config serves too.
        var layout = ResolveLayout(model, options, baseline);
        var baseLayers = baseline is null ? null : Projections(baseline);
        IEnumerable<int> selected = layers.Keys;
        if (options.Layer is int only)
        {
            if (!layers.ContainsKey(only))
                throw new InvalidHeadLayoutException("--layer", $"{only} is out of range: {model.Path} has attention layers {layers.Keys.First()}…{layers.Keys.Last()}");
            selected = [only];
        }
        long hidden = layers.Values.First().HiddenSize(model);
        var heads = new List<HeadCircuits>();
        int done = 0;
        foreach (int layer in selected)
        {
            ct.ThrowIfCancellationRequested();
            var p = layers[layer];
            p.Validate(model, layout, hidden);
            AttentionProjections? b = null;
            if (baseLayers is not null)
            {
                if (!baseLayers.TryGetValue(layer, out b))
                    throw new InvalidHeadLayoutException(baseline!.Path, $"has no attention layer {layer} to compare with {model.Path}");
                b.Validate(baseline!, layout, hidden);
            }
            heads.AddRange(AnalyzeLayer(model, p, baseline, b, layout, hidden, options.MaxBatchElements, ct));
            progress?.Report(++done);
        }
        return new AttentionHeadReport(model.Path, baseline?.Path, layout, hidden, layers.Count, heads);
    }

    /// <summary>One head's circuit as an explicit d × d matrix, row-major float64 (for inspection and small models: it
    /// takes d² values; the analysis itself never forms it).</summary>
    /// <param name="model">The checkpoint.</param>
    /// <param name="layer">Block index.</param>
    /// <param name="head">Query head index.</param>
    /// <param name="circuit">W_QK or W_OV.</param>
    /// <param name="options">Head counts; defaults if null.</param>
    /// <exception cref="InvalidHeadLayoutException">The layer or head does not exist, or the shapes do not fit the layout.</exception>
    public static double[] CircuitMatrix(TensorStore model, int layer, int head, HeadCircuit circuit, AttentionHeadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = Projections(model);
        var layout = ResolveLayout(model, options);
        if (!layers.TryGetValue(layer, out var p))
            throw new InvalidHeadLayoutException("--layer", $"{layer} is out of range: {model.Path} has attention layers {layers.Keys.First()}…{layers.Keys.Last()}");
        if (head < 0 || head >= layout.HeadCount) throw new InvalidHeadLayoutException("head", $"{head} is out of range 0…{layout.HeadCount - 1}");
        long hidden = p.HiddenSize(model);
        p.Validate(model, layout, hidden);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (xq, yk, xo, yv) = Factors(p.Load(model, layout), layout, hidden, head, 1);
        var product = circuit == HeadCircuit.QueryKey ? xq[0].matmul(yk[0].mT) : xo[0].matmul(yv[0].mT);
        return product.contiguous().data<double>().ToArray();
    }

    private static SortedDictionary<int, AttentionProjections> Projections(TensorStore store)
    {
        var layers = AttentionProjections.Find(store);
        if (layers.Count == 0)
            throw new InvalidHeadLayoutException(store.Path, "has no attention projections this library recognises (q_proj/k_proj/v_proj/o_proj, qkv_proj, c_attn, query/key/value, blk.N.attn_*)");
        return layers;
    }

    private static List<HeadCircuits> AnalyzeLayer(TensorStore model, AttentionProjections p, TensorStore? baseline, AttentionProjections? b,
        HeadLayout layout, long hidden, long maxBatchElements, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = p.Load(model, layout);
        var w0 = b is null ? default : b.Load(baseline!, layout);
        int batch = (int)Math.Clamp(maxBatchElements / Math.Max(1, 2 * hidden * layout.HeadDim), 1, layout.HeadCount);
        var result = new List<HeadCircuits>(layout.HeadCount);
        for (int start = 0; start < layout.HeadCount; start += batch)
        {
            ct.ThrowIfCancellationRequested();
            using var batchScope = NewDisposeScope();
            int n = Math.Min(batch, layout.HeadCount - start);
            var (xq, yk, xo, yv) = Factors(w, layout, hidden, start, n);
            var qkCore = ThinProduct.CoreOf(xq, yk);
            var ovCore = ThinProduct.CoreOf(xo, yv);
            double[] qk = SingularValues(qkCore), ov = SingularValues(ovCore);
            double[]? qkChange = null, ovChange = null;
            if (b is not null)
            {
                var (xq0, yk0, xo0, yv0) = Factors(w0, layout, hidden, start, n);
                qkChange = RelativeChange(ThinProduct.DifferenceCore(xq, yk, xq0, yk0), ThinProduct.CoreOf(xq0, yk0));
                ovChange = RelativeChange(ThinProduct.DifferenceCore(xo, yv, xo0, yv0), ThinProduct.CoreOf(xo0, yv0));
            }
            int k = (int)qkCore.shape[^1];
            for (int i = 0; i < n; i++)
            {
                int h = start + i;
                result.Add(new HeadCircuits(p.Layer, h, layout.KeyValueHeadOf(h),
                    new CircuitSpectrum(qk.AsSpan(i * k, k).ToArray()), new CircuitSpectrum(ov.AsSpan(i * k, k).ToArray()),
                    qkChange?[i], ovChange?[i]));
            }
        }
        return result;
    }

    /// <summary>The float64 factor batches [n, d, d_h] of heads start…start+n: X_Q = W_Q,hᵀ, Y_K = W_K,gᵀ, X_O = W_O,h, Y_V = W_V,gᵀ.</summary>
    private static (Tensor Xq, Tensor Yk, Tensor Xo, Tensor Yv) Factors((Tensor Q, Tensor K, Tensor V, Tensor O) w, HeadLayout layout, long hidden, int start, int n)
    {
        long dh = layout.HeadDim;
        var kvIndex = tensor(Enumerable.Range(start, n).Select(h => (long)layout.KeyValueHeadOf(h)).ToArray(), ScalarType.Int64);
        var xq = w.Q.narrow(0, start * dh, n * dh).view(n, dh, hidden).mT.to_type(ScalarType.Float64);
        var yk = w.K.view(layout.KeyValueHeadCount, dh, hidden).index_select(0, kvIndex).mT.to_type(ScalarType.Float64);
        var yv = w.V.view(layout.KeyValueHeadCount, dh, hidden).index_select(0, kvIndex).mT.to_type(ScalarType.Float64);
        var xo = w.O.narrow(1, start * dh, n * dh).view(hidden, n, dh).permute(1, 0, 2).to_type(ScalarType.Float64);
        return (xq, yk, xo, yv);
    }

    private static double[] SingularValues(Tensor cores) => linalg.svdvals(cores).contiguous().data<double>().ToArray();

    private static double[] RelativeChange(Tensor deltaCores, Tensor baseCores)
    {
        var delta = deltaCores.square().sum([-2, -1]).sqrt().contiguous().data<double>().ToArray();
        var norm = baseCores.square().sum([-2, -1]).sqrt().contiguous().data<double>().ToArray();
        return [.. delta.Select((d, i) => norm[i] > 0 ? d / norm[i] : d == 0 ? 0 : double.PositiveInfinity)];
    }
}
