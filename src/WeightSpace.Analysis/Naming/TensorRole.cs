namespace WeightSpace.Analysis.Naming;

/// <summary>What a transformer tensor is for, independent of the checkpoint's naming convention.</summary>
public enum TensorRole
{
    /// <summary>Not a transformer tensor this library recognises (e.g. <c>fc1.weight</c> of an MLP).</summary>
    Other,
    /// <summary>Token embedding (<c>embed_tokens</c>, <c>wte</c>, <c>word_embeddings</c>, GGUF <c>token_embd</c>).</summary>
    TokenEmbedding,
    /// <summary>Learned absolute position embedding (<c>wpe</c>, <c>position_embeddings</c>, GGUF <c>position_embd</c>).</summary>
    PositionEmbedding,
    /// <summary>BERT's segment embedding (<c>token_type_embeddings</c>, GGUF <c>token_types</c>).</summary>
    TokenTypeEmbedding,
    /// <summary>Attention query projection (<c>q_proj</c>, BERT <c>query</c>, GGUF <c>attn_q</c>).</summary>
    Query,
    /// <summary>Attention key projection.</summary>
    Key,
    /// <summary>Attention value projection.</summary>
    Value,
    /// <summary>Fused query, key and value (GPT-2 <c>c_attn</c>, Phi-3 <c>qkv_proj</c>, GGUF <c>attn_qkv</c>): rows (or, for
    /// GPT-2's Conv1D, columns) are Q, then K, then V.</summary>
    QueryKeyValue,
    /// <summary>Attention output projection (<c>o_proj</c>, GPT-2 <c>attn.c_proj</c>, BERT <c>attention.output.dense</c>,
    /// GGUF <c>attn_output</c>).</summary>
    AttentionOutput,
    /// <summary>Gate projection of a gated MLP (SwiGLU <c>gate_proj</c>, GGUF <c>ffn_gate</c>).</summary>
    Gate,
    /// <summary>Up projection (<c>up_proj</c>, GPT-2 <c>c_fc</c>, BERT <c>intermediate.dense</c>, GGUF <c>ffn_up</c>).</summary>
    Up,
    /// <summary>Fused gate and up projections (Phi-3 <c>gate_up_proj</c>): the gate's rows, then the up projection's.</summary>
    GateUp,
    /// <summary>Down projection (<c>down_proj</c>, GPT-2 <c>mlp.c_proj</c>, BERT <c>output.dense</c>, GGUF <c>ffn_down</c>).</summary>
    Down,
    /// <summary>The norm before attention (Llama <c>input_layernorm</c>, GPT-2 <c>ln_1</c>, GGUF <c>attn_norm</c>); in
    /// BERT's post-norm blocks, the norm after attention (<c>attention.output.LayerNorm</c>).</summary>
    AttentionNorm,
    /// <summary>The norm before the MLP (Llama <c>post_attention_layernorm</c>, GPT-2 <c>ln_2</c>, GGUF <c>ffn_norm</c>);
    /// in BERT, the norm after it (<c>output.LayerNorm</c>).</summary>
    MlpNorm,
    /// <summary>The norm of the embeddings (BERT <c>embeddings.LayerNorm</c>, GGUF <c>token_embd_norm</c>).</summary>
    EmbeddingNorm,
    /// <summary>The norm after the last block (<c>model.norm</c>, GPT-2 <c>ln_f</c>, GGUF <c>output_norm</c>).</summary>
    FinalNorm,
    /// <summary>The output projection to the vocabulary (<c>lm_head</c>, GGUF <c>output</c>).</summary>
    LmHead,
}
