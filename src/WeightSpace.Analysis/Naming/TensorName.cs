namespace WeightSpace.Analysis.Naming;

/// <summary>A tensor name read by <see cref="TensorNames.Parse"/>: which block it belongs to and what it is for.</summary>
/// <param name="Name">The name as stored.</param>
/// <param name="Layer">The block index (<c>model.layers.3.…</c>, <c>h.3.…</c>, <c>encoder.layer.3.…</c>, <c>blk.3.…</c>), or
/// null for tensors outside the blocks (embeddings, final norm, head).</param>
/// <param name="Role">What the tensor is for; <see cref="TensorRole.Other"/> when the convention is not recognised.</param>
/// <param name="Parameter">The last name component: <c>weight</c>, <c>bias</c> (or a PEFT adapter's <c>lora_A</c>…), or
/// null when the name has a single component.</param>
public sealed record TensorName(string Name, int? Layer, TensorRole Role, string? Parameter)
{
    /// <summary>True for attention projections (Q, K, V, fused QKV, output).</summary>
    public bool IsAttention => Role is TensorRole.Query or TensorRole.Key or TensorRole.Value or TensorRole.QueryKeyValue or TensorRole.AttentionOutput;

    /// <summary>True for MLP projections (gate, up, fused gate-up, down).</summary>
    public bool IsMlp => Role is TensorRole.Gate or TensorRole.Up or TensorRole.GateUp or TensorRole.Down;

    /// <summary>True for any normalisation tensor.</summary>
    public bool IsNorm => Role is TensorRole.AttentionNorm or TensorRole.MlpNorm or TensorRole.EmbeddingNorm or TensorRole.FinalNorm;
}
