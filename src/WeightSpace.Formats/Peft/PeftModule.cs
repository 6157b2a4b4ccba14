namespace WeightSpace.Formats.Peft;

/// <summary>One LoRA-adapted module of an adapter, its factor tensors validated against each other and the config.</summary>
/// <param name="Module">Module name in the base model (<c>model.layers.0.self_attn.q_proj</c>).</param>
/// <param name="IsEmbedding">True for <c>lora_embedding_A/B</c> (ΔW = s·(B·A)ᵀ, shape [num_embeddings, dim]).</param>
/// <param name="A">A: [r, in] (embedding: [r, num_embeddings]).</param>
/// <param name="B">B: [out, r] (embedding: [dim, r]).</param>
/// <param name="BBias"><c>lora_B.bias</c> [out], if present.</param>
/// <param name="Magnitude">DoRA's magnitude vector [out], if present.</param>
/// <param name="Rank">r (A's rows = B's columns = the config's rank for this module).</param>
/// <param name="Alpha">α for this module.</param>
/// <param name="Scale">s: α/r, or α/√r with rsLoRA.</param>
public sealed record PeftModule(string Module, bool IsEmbedding, TensorInfo A, TensorInfo B, TensorInfo? BBias, TensorInfo? Magnitude,
    int Rank, double Alpha, double Scale)
{
    /// <summary>Rows of ΔW in the orientation PEFT computes it, B·A: out features (embedding: dim).</summary>
    public long Rows => B.Shape[0];

    /// <summary>Columns of B·A: in features (embedding: num_embeddings).</summary>
    public long Columns => A.Shape[1];
}
