namespace WeightSpace.Analysis.Naming;

/// <summary>Reads the block index and role of a transformer tensor from its name, for the naming conventions of
/// Hugging Face Llama/Mistral/Qwen2 (and Phi-3's fused projections), GPT-2, BERT, and llama.cpp's GGUF (<c>blk.N.*</c>).
/// The one place analyses (transformer spectra, LoRA, GGUF) learn which tensor is a query projection or an MLP.</summary>
/// <remarks>
/// Prefixes are ignored: <c>model.</c>, <c>transformer.</c>, <c>bert.</c>, PEFT's <c>base_model.model.</c>. The layer
/// index is <see cref="LayerNames"/>' rule (the first all-digit component). The role comes from the components after
/// it (or the whole name outside the blocks), matched as whole components, so <c>q_proj</c> never matches
/// <c>qq_proj</c>. GPT-2's <c>c_proj</c> is the attention output under <c>attn</c> and the down projection under
/// <c>mlp</c>; BERT's <c>output.dense</c> is the attention output under <c>attention</c> and the down projection otherwise.
/// Sources: transformers' <c>modeling_llama.py</c>, <c>modeling_gpt2.py</c>, <c>modeling_bert.py</c>; gguf-py's
/// <c>constants.py</c> (<c>MODEL_TENSOR</c> names).
/// </remarks>
public static class TensorNames
{
    private static readonly (string Component, TensorRole Role)[] BlockComponents =
    [
        ("q_proj", TensorRole.Query), ("k_proj", TensorRole.Key), ("v_proj", TensorRole.Value), ("o_proj", TensorRole.AttentionOutput),
        ("qkv_proj", TensorRole.QueryKeyValue), ("c_attn", TensorRole.QueryKeyValue),
        ("query", TensorRole.Query), ("key", TensorRole.Key), ("value", TensorRole.Value),
        ("gate_proj", TensorRole.Gate), ("up_proj", TensorRole.Up), ("down_proj", TensorRole.Down), ("gate_up_proj", TensorRole.GateUp),
        ("c_fc", TensorRole.Up),
        ("input_layernorm", TensorRole.AttentionNorm), ("post_attention_layernorm", TensorRole.MlpNorm),
        ("ln_1", TensorRole.AttentionNorm), ("ln_2", TensorRole.MlpNorm),
        // GGUF (llama.cpp) block tensors.
        ("attn_q", TensorRole.Query), ("attn_k", TensorRole.Key), ("attn_v", TensorRole.Value), ("attn_qkv", TensorRole.QueryKeyValue),
        ("attn_output", TensorRole.AttentionOutput), ("ffn_gate", TensorRole.Gate), ("ffn_up", TensorRole.Up), ("ffn_down", TensorRole.Down),
        ("attn_norm", TensorRole.AttentionNorm), ("ffn_norm", TensorRole.MlpNorm),
    ];

    private static readonly (string Component, TensorRole Role)[] ModelComponents =
    [
        ("embed_tokens", TensorRole.TokenEmbedding), ("wte", TensorRole.TokenEmbedding), ("word_embeddings", TensorRole.TokenEmbedding),
        ("token_embd", TensorRole.TokenEmbedding), ("wpe", TensorRole.PositionEmbedding), ("position_embeddings", TensorRole.PositionEmbedding),
        ("position_embd", TensorRole.PositionEmbedding), ("token_type_embeddings", TensorRole.TokenTypeEmbedding), ("token_types", TensorRole.TokenTypeEmbedding),
        ("token_embd_norm", TensorRole.EmbeddingNorm), ("ln_f", TensorRole.FinalNorm), ("output_norm", TensorRole.FinalNorm),
        ("lm_head", TensorRole.LmHead),
    ];

    /// <summary>The block index and role of <paramref name="name"/>.</summary>
    /// <param name="name">A tensor name as stored in the checkpoint.</param>
    public static TensorName Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string[] parts = name.Split('.');
        string? parameter = parts.Length > 1 ? parts[^1] : null;
        if (LayerNames.TryParse(name, out _, out int layer, out string suffix))
        {
            string[] inside = suffix.Split('.', StringSplitOptions.RemoveEmptyEntries);
            return new TensorName(name, layer, BlockRole(inside), parameter);
        }
        return new TensorName(name, null, ModelRole(parts), parameter);
    }

    private static TensorRole BlockRole(string[] c)
    {
        bool under(string component) => c.Contains(component, StringComparer.Ordinal);
        // GPT-2: attn.c_proj is the attention output, mlp.c_proj the down projection.
        if (under("c_proj")) return under("attn") ? TensorRole.AttentionOutput : under("mlp") ? TensorRole.Down : TensorRole.Other;
        // BERT: attention.output.{dense,LayerNorm}, intermediate.dense, output.{dense,LayerNorm}.
        if (under("intermediate") && under("dense")) return TensorRole.Up;
        if (under("output") && (under("dense") || under("LayerNorm")))
        {
            bool attention = under("attention");
            return under("LayerNorm") ? (attention ? TensorRole.AttentionNorm : TensorRole.MlpNorm) : (attention ? TensorRole.AttentionOutput : TensorRole.Down);
        }
        foreach (string component in c)
            foreach (var (known, role) in BlockComponents)
                if (component == known) return role;
        return TensorRole.Other;
    }

    private static TensorRole ModelRole(string[] c)
    {
        bool under(string component) => c.Contains(component, StringComparer.Ordinal);
        if (under("embeddings") && under("LayerNorm")) return TensorRole.EmbeddingNorm;
        foreach (string component in c)
            foreach (var (known, role) in ModelComponents)
                if (component == known) return role;
        // model.norm.weight (Llama), and GGUF's bare "output.weight" head.
        if (c.Length == 3 && c[0] == "model" && c[1] == "norm") return TensorRole.FinalNorm;
        if (c.Length == 2 && c[0] == "norm") return TensorRole.FinalNorm;
        if (c.Length == 2 && c[0] == "output") return TensorRole.LmHead;
        return TensorRole.Other;
    }
}
