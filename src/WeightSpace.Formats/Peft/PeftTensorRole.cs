namespace WeightSpace.Formats.Peft;

/// <summary>What a tensor of a PEFT adapter file is.</summary>
public enum PeftTensorRole
{
    /// <summary><c>lora_A.weight</c>: A ∈ [r, in] of a linear module.</summary>
    LoraA,
    /// <summary><c>lora_B.weight</c>: B ∈ [out, r] of a linear module.</summary>
    LoraB,
    /// <summary><c>lora_B.bias</c> (PEFT's <c>lora_bias</c>): added to the module's bias, scaled like ΔW.</summary>
    LoraBBias,
    /// <summary><c>lora_embedding_A</c>: A ∈ [r, num_embeddings] of an embedding.</summary>
    EmbeddingA,
    /// <summary><c>lora_embedding_B</c>: B ∈ [embedding_dim, r] of an embedding.</summary>
    EmbeddingB,
    /// <summary><c>lora_magnitude_vector</c>: DoRA's magnitude m ∈ [out].</summary>
    Magnitude,
    /// <summary>A whole tensor that replaces the base's (<c>modules_to_save</c>, or a trained bias).</summary>
    Full,
}
