using static TorchSharp.torch;

namespace WeightSpace.Analysis.Heads;

/// <summary>Where one layer's Q, K, V and output projections are stored: separate tensors ([out, in], as nn.Linear),
/// Phi-3's fused <c>qkv_proj</c> (rows Q, then K, then V), or GPT-2's fused Conv1D <c>c_attn</c> ([in, 3·out]) with its
/// Conv1D <c>c_proj</c> ([in, out]).</summary>
internal sealed record AttentionProjections(int Layer, string? Query, string? Key, string? Value, string? Fused, string Output, bool Conv1D)
{
    /// <summary>Every layer's projections found through <see cref="TensorNames.Parse"/>, by layer index.</summary>
    /// <exception cref="InvalidHeadLayoutException">A layer has attention tensors but lacks one of Q, K, V or output.</exception>
    public static SortedDictionary<int, AttentionProjections> Find(TensorStore store)
    {
        var byLayer = new SortedDictionary<int, Dictionary<TensorRole, string>>();
        foreach (var info in store.Tensors)
        {
            var name = TensorNames.Parse(info.Name);
            if (name.Layer is not int layer || !name.IsAttention || name.Parameter != "weight" || info.Shape.Rank != 2) continue;
            if (!byLayer.TryGetValue(layer, out var roles)) byLayer[layer] = roles = [];
            roles.TryAdd(name.Role, info.Name);
        }
        var result = new SortedDictionary<int, AttentionProjections>();
        foreach (var (layer, roles) in byLayer)
        {
            string? Get(TensorRole r) => roles.TryGetValue(r, out string? n) ? n : null;
            string output = Get(TensorRole.AttentionOutput)
                ?? throw new InvalidHeadLayoutException(store.Path, $"layer {layer} has attention projections but no output projection (o_proj)");
            string? fused = Get(TensorRole.QueryKeyValue);
            string? q = Get(TensorRole.Query), k = Get(TensorRole.Key), v = Get(TensorRole.Value);
            if (fused is null && (q is null || k is null || v is null))
                throw new InvalidHeadLayoutException(store.Path, $"layer {layer} lacks its {(q is null ? "query" : k is null ? "key" : "value")} projection");
            bool conv1D = fused is not null && fused.Split('.').Contains("c_attn");
            result[layer] = new AttentionProjections(layer, fused is null ? q : null, fused is null ? k : null, fused is null ? v : null, fused, output, conv1D);
        }
        return result;
    }

    /// <summary>The hidden size: columns of the query projection (rows of GPT-2's Conv1D <c>c_attn</c>).</summary>
    public long HiddenSize(TensorStore store) => Conv1D ? store.GetInfo(Fused!).Shape[0] : store.GetInfo(Fused ?? Query!).Shape[1];

    /// <summary>Query rows of the layer (q_proj's rows, or the Q part of the fused tensor).</summary>
    public long QueryRows(TensorStore store, HeadLayout layout)
    {
        if (Query is not null) return store.GetInfo(Query).Shape[0];
        var shape = store.GetInfo(Fused!).Shape;
        long total = Conv1D ? shape[1] : shape[0];
        // Fused rows are (heads + 2·kv heads)·head_dim.
        long parts = layout.HeadCount + 2L * layout.KeyValueHeadCount;
        return total % parts == 0 ? total / parts * layout.HeadCount : -1;
    }

    /// <summary>Checks every shape against <paramref name="layout"/> (with its head_dim known) and the hidden size.</summary>
    /// <exception cref="InvalidHeadLayoutException">A shape does not fit, naming the tensor.</exception>
    public void Validate(TensorStore store, HeadLayout layout, long hidden)
    {
        long q = (long)layout.HeadCount * layout.HeadDim, kv = (long)layout.KeyValueHeadCount * layout.HeadDim;
        void Expect(string tensor, long rows, long cols)
        {
            var s = store.GetInfo(tensor).Shape;
            if (s[0] != rows || s[1] != cols)
                throw new InvalidHeadLayoutException($"{store.Path}: tensor '{tensor}'",
                    $"has shape [{s[0]}, {s[1]}] but {layout.HeadCount} heads × head_dim {layout.HeadDim} ({layout.KeyValueHeadCount} KV heads) on hidden size {hidden} need [{rows}, {cols}]");
        }
        if (Fused is null)
        {
            Expect(Query!, q, hidden);
            Expect(Key!, kv, hidden);
            Expect(Value!, kv, hidden);
        }
        else if (Conv1D) Expect(Fused, hidden, q + 2 * kv);
        else Expect(Fused, q + 2 * kv, hidden);
        if (Conv1D) Expect(Output, q, hidden);
        else Expect(Output, hidden, q);
    }

    /// <summary>The layer's projections as float32 torch tensors in the caller's dispose scope, in nn.Linear layout:
    /// Q [H·d_h, d], K and V [KV·d_h, d], O [d, H·d_h].</summary>
    public (Tensor Q, Tensor K, Tensor V, Tensor O) Load(TensorStore store, HeadLayout layout)
    {
        Tensor Read(string name)
        {
            using var buffer = store.Read(name);
            return buffer.ToTorch(ScalarType.Float32);
        }
        long q = (long)layout.HeadCount * layout.HeadDim, kv = (long)layout.KeyValueHeadCount * layout.HeadDim;
        var o = Read(Output);
        if (Conv1D) o = o.t().contiguous();
        if (Fused is null) return (Read(Query!), Read(Key!), Read(Value!), o);
        var fused = Read(Fused);
        if (Conv1D) fused = fused.t();
        return (fused.narrow(0, 0, q).contiguous(), fused.narrow(0, q, kv).contiguous(), fused.narrow(0, q + kv, kv).contiguous(), o);
    }
}
