using static TorchSharp.torch;

namespace WeightSpace.Analysis.Neurons;

/// <summary>Reads MLP neurons as tokens, without data: each neuron's output direction (a column of <c>down_proj</c>)
/// is projected onto the unembedding and its top-k tokens kept (Dar et al. 2023, "Analyzing Transformers in Embedding
/// Space"; Geva et al. 2022; the logit lens).</summary>
/// <remarks>
/// Neuron j of a down projection W [hidden, intermediate] writes W[:, j] into the residual stream; its logits are
/// ℓ_j = U · diag(γ) · W[:, j] with U the unembedding [vocab, hidden] and γ the final norm's weight (RMSNorm's 1/rms is a
/// positive scalar and does not change the ranking; a LayerNorm's centring is applied to W[:, j] first). Matrices are
/// streamed one at a time: the memory held is the unembedding in float32 (for each model), one matrix in float32 and
/// one block of at most <see cref="NeuronDecodingOptions.ChunkElements"/> logits.
/// </remarks>
public static class NeuronDecoder
{
    /// <summary>The paper this follows.</summary>
    public static Uri Paper { get; } = new("https://arxiv.org/abs/2209.02535");

    /// <summary>Decodes the neurons of <paramref name="model"/>; with <paramref name="baseline"/> (a checkpoint of the same
    /// architecture) also compares each neuron with the baseline's.</summary>
    /// <param name="model">The checkpoint.</param>
    /// <param name="baseline">A checkpoint to compare with, or null.</param>
    /// <param name="options">What to decode; defaults if null.</param>
    /// <param name="progress">Receives the number of matrices done.</param>
    /// <param name="cancellationToken">Checked between matrices.</param>
    /// <exception cref="InvalidCheckpointException">No unembedding, no matrix to decode (or none in the asked layer), a matrix
    /// without a hidden-size dimension, or a baseline whose tensors differ in shape or are missing.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static NeuronDecoding Decode(TensorStore model, TensorStore? baseline = null, NeuronDecodingOptions? options = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default) =>
        DecodeMatrices(model, baseline, options, include: null, progress, cancellationToken);

    /// <summary><see cref="Decode(TensorStore, TensorStore?, NeuronDecodingOptions?, IProgress{int}?, CancellationToken)"/>
    /// restricted to the matrices <paramref name="include"/> keeps (one shard); every check of the whole run still applies.</summary>
    internal static NeuronDecoding DecodeMatrices(TensorStore model, TensorStore? baseline, NeuronDecodingOptions? options, Func<string, bool>? include,
        IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new NeuronDecodingOptions();
        Validate(options);

        using var noGrad = no_grad();
        using var unembedding = Unembedding.Load(model, options.ApplyFinalNorm);
        using var baseUnembedding = baseline is null ? null : Unembedding.Load(baseline, options.ApplyFinalNorm);
        if (baseUnembedding is not null && !baseUnembedding.Matrix.shape.SequenceEqual(unembedding.Matrix.shape))
            throw new InvalidCheckpointException(baseline!.Path, baseUnembedding.Name,
                $"unembedding is [{string.Join(", ", baseUnembedding.Matrix.shape)}] but {model.Path}'s '{unembedding.Name}' is [{string.Join(", ", unembedding.Matrix.shape)}]: the models must share an architecture");
        int k = (int)Math.Min(options.TopK, unembedding.VocabularySize);

        var matrices = Select(model, options, unembedding.HiddenSize);
        var layers = new List<NeuronLayer>(matrices.Count);
        foreach (var (info, layer, neuronsAreRows) in matrices)
        {
            if (include is not null && !include(info.Name)) continue;
            cancellationToken.ThrowIfCancellationRequested();
            if (baseline is not null)
            {
                if (!baseline.TryGetInfo(info.Name, out var other))
                    throw new InvalidCheckpointException(baseline.Path, info.Name, $"missing, but {model.Path} has it: the models must share an architecture");
                if (other.Shape != info.Shape)
                    throw new InvalidCheckpointException(baseline.Path, info.Name, $"shape {other.Shape} differs from {info.Shape} in {model.Path}");
            }
            layers.Add(DecodeMatrix(model, baseline, info, layer, neuronsAreRows, unembedding, baseUnembedding, k, options.ChunkElements));
            progress?.Report(layers.Count);
        }
        return new NeuronDecoding
        {
            Model = model.Path,
            Baseline = baseline?.Path,
            Unembedding = unembedding.Name,
            FinalNorm = unembedding.FinalNorm,
            TopK = k,
            Layers = layers,
            MostChanged = baseline is null ? [] : MostChanged(layers, options.MostChanged),
        };
    }

    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    internal static void Validate(NeuronDecodingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TopK, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.TopK, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MostChanged, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkElements, 1);
    }

    /// <summary>The <paramref name="count"/> neurons that changed most over <paramref name="layers"/> (compared layers, in
    /// block order): lowest top-k overlap, then lowest logit cosine, then layer and neuron; a combine of shards ranks
    /// the same list the same way.</summary>
    internal static List<NeuronChange> MostChanged(IReadOnlyList<NeuronLayer> layers, int count)
    {
        var changes = new List<NeuronChange>();
        foreach (var l in layers)
            for (int j = 0; j < l.NeuronCount; j++)
                changes.Add(new NeuronChange(l.Tensor, l.Layer, j, l.TopKOverlap![j], l.LogitCosine![j], l.Tokens(j).ToArray(), l.BaselineTokens(j).ToArray()));
        return changes.OrderBy(c => c.TopKOverlap).ThenBy(c => c.LogitCosine).ThenBy(c => c.Layer).ThenBy(c => c.Neuron).Take(count).ToList();
    }

    /// <summary>The matrices a run decodes, from the headers alone, with the unembedding's vocabulary size: a shard
    /// plan's work items (the cost of a matrix is vocabulary × its elements, the multiply-adds of its projection).</summary>
    /// <exception cref="InvalidCheckpointException">As for <see cref="Decode(TensorStore, TensorStore?, NeuronDecodingOptions?, IProgress{int}?, CancellationToken)"/>.</exception>
    internal static (IReadOnlyList<TensorInfo> Matrices, long VocabularySize) Plan(TensorStore model, NeuronDecodingOptions options)
    {
        var (head, _) = Unembedding.Locate(model, options.ApplyFinalNorm);
        return (Select(model, options, head.Shape[1]).Select(m => m.Info).ToList(), head.Shape[0]);
    }

    /// <summary>The matrices to decode, in block order, and whether their neurons are rows (Conv1D, [intermediate, hidden]).</summary>
    private static List<(TensorInfo Info, int? Layer, bool NeuronsAreRows)> Select(TensorStore model, NeuronDecodingOptions options, long hidden)
    {
        var picked = new List<(TensorInfo, int?, bool)>();
        var layersSeen = new SortedSet<int>();
        foreach (var info in model.Tensors.OrderBy(t => t.Name, NaturalOrder.Instance))
        {
            var name = TensorNames.Parse(info.Name);
            bool wanted = options.Matrix is { } pattern ? pattern.IsMatch(info.Name) : name.Role == TensorRole.Down && name.Parameter == "weight";
            if (!wanted || info.Shape.Rank != 2 || !info.DType.IsFloatingPoint()) continue;
            if (name.Layer is int l) layersSeen.Add(l);
            if (options.Layer is int only && name.Layer != only) continue;
            long rows = info.Shape[0], columns = info.Shape[1];
            bool neuronsAreRows;
            if (rows == hidden && columns != hidden) neuronsAreRows = false;
            else if (columns == hidden && rows != hidden) neuronsAreRows = true;
            // Square: nn.Linear stores [out, in], so output directions are columns; GPT-2's Conv1D (c_proj) stores [in, out].
            else if (rows == hidden) neuronsAreRows = info.Name.Contains("c_proj", StringComparison.Ordinal);
            else
                throw new InvalidCheckpointException(model.Path, info.Name, $"shape {info.Shape} has no dimension of the hidden size {hidden}: its columns cannot be decoded through the unembedding");
            picked.Add((info, name.Layer, neuronsAreRows));
        }
        if (picked.Count == 0)
        {
            string what = options.Matrix is { } p ? $"no 2-D floating-point tensor matches --matrix '{p}'" : "no MLP down projection (down_proj, mlp.c_proj, output.dense, ffn_down)";
            if (options.Layer is int only && layersSeen.Count > 0)
                throw new InvalidCheckpointException(model.Path, null, $"layer {only} is out of range: the decodable matrices are in layers {layersSeen.Min}…{layersSeen.Max}");
            throw new InvalidCheckpointException(model.Path, null, what + (options.Layer is int l2 ? $" in layer {l2}" : ""));
        }
        return picked;
    }

    private static NeuronLayer DecodeMatrix(TensorStore model, TensorStore? baseline, TensorInfo info, int? layer, bool neuronsAreRows,
        Unembedding unembedding, Unembedding? baseUnembedding, int k, long chunkElements)
    {
        using var scope = NewDisposeScope();
        var w = Directions(model, info, neuronsAreRows, unembedding.Centre);
        var b = baseline is null ? null : Directions(baseline, info, neuronsAreRows, baseUnembedding!.Centre);
        int n = (int)w.shape[1];
        long vocab = unembedding.VocabularySize;
        var ids = new int[checked(n * k)];
        var logits = new float[ids.Length];
        int[]? baseIds = b is null ? null : new int[ids.Length];
        float[]? baseLogits = b is null ? null : new float[ids.Length];
        float[]? overlap = b is null ? null : new float[n];
        float[]? cosine = b is null ? null : new float[n];
        int chunk = (int)Math.Clamp(chunkElements / vocab, 1, n);
        for (int start = 0; start < n; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            int count = Math.Min(chunk, n - start);
            var l = unembedding.Matrix.matmul(w.narrow(1, start, count));   // [vocab, count]
            TopK(l, k, ids.AsSpan(start * k, count * k), logits.AsSpan(start * k, count * k));
            if (b is null) continue;
            var lb = baseUnembedding!.Matrix.matmul(b.narrow(1, start, count));
            TopK(lb, k, baseIds.AsSpan(start * k, count * k), baseLogits.AsSpan(start * k, count * k));
            // Softmax ignores a shift of all logits, so the vectors are compared after removing their mean.
            var ca = l.sub(l.mean([0], keepdim: true));
            var cb = lb.sub(lb.mean([0], keepdim: true));
            // sum(0) would bind to sum(ScalarType): the dimension is spelled as an array.
            var dot = ca.mul(cb).sum([0L]);
            var norms = ca.square().sum([0L]).mul(cb.square().sum([0L])).sqrt();
            var cos = dot.div(norms.clamp_min(1e-30f)).contiguous();
            cos.data<float>().CopyTo(cosine.AsSpan(start, count));
        }
        if (b is not null)
            for (int j = 0; j < n; j++)
            {
                var mine = ids.AsSpan(j * k, k);
                var theirs = baseIds.AsSpan(j * k, k);
                int shared = 0;
                foreach (int t in mine) if (theirs.Contains(t)) shared++;
                overlap![j] = (float)shared / k;
            }
        return new NeuronLayer
        {
            Tensor = info.Name,
            Layer = layer,
            NeuronCount = n,
            TopK = k,
            TokenIds = ids,
            Logits = logits,
            BaselineTokenIds = baseIds,
            BaselineLogits = baseLogits,
            TopKOverlap = overlap,
            LogitCosine = cosine,
        };
    }

    /// <summary>The neuron directions as columns [hidden, neurons] in float32, in the caller's scope.</summary>
    private static Tensor Directions(TensorStore store, TensorInfo info, bool neuronsAreRows, bool centre)
    {
        Tensor w;
        using (var buffer = store.Read(info.Name)) w = buffer.ToTorch(ScalarType.Float32);
        if (neuronsAreRows) w = w.t();
        if (centre) w = w.sub(w.mean([0], keepdim: true));
        return w.contiguous();
    }

    /// <summary>Top-k rows of each column of <paramref name="logits"/> [vocab, count], written neuron-major.</summary>
    private static void TopK(Tensor logits, int k, Span<int> ids, Span<float> values)
    {
        var (top, index) = logits.topk(k, dim: 0, largest: true, sorted: true);
        var v = top.t().contiguous();
        var i = index.t().contiguous().to_type(ScalarType.Int32);
        v.data<float>().CopyTo(values);
        i.data<int>().CopyTo(ids);
    }
}
