using WeightSpace.Analysis.Naming;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.Naming;

public sealed class TensorNamesTests
{
    [Theory]
    // Hugging Face Llama / Mistral / Qwen2 (Qwen2 adds q/k/v biases).
    [InlineData("model.embed_tokens.weight", null, TensorRole.TokenEmbedding)]
    [InlineData("model.layers.0.self_attn.q_proj.weight", 0, TensorRole.Query)]
    [InlineData("model.layers.11.self_attn.k_proj.bias", 11, TensorRole.Key)]
    [InlineData("model.layers.3.self_attn.v_proj.weight", 3, TensorRole.Value)]
    [InlineData("model.layers.3.self_attn.o_proj.weight", 3, TensorRole.AttentionOutput)]
    [InlineData("model.layers.31.mlp.gate_proj.weight", 31, TensorRole.Gate)]
    [InlineData("model.layers.31.mlp.up_proj.weight", 31, TensorRole.Up)]
    [InlineData("model.layers.31.mlp.down_proj.weight", 31, TensorRole.Down)]
    [InlineData("model.layers.2.input_layernorm.weight", 2, TensorRole.AttentionNorm)]
    [InlineData("model.layers.2.post_attention_layernorm.weight", 2, TensorRole.MlpNorm)]
    [InlineData("model.norm.weight", null, TensorRole.FinalNorm)]
    [InlineData("lm_head.weight", null, TensorRole.LmHead)]
    // Phi-3's fused projections.
    [InlineData("model.layers.5.self_attn.qkv_proj.weight", 5, TensorRole.QueryKeyValue)]
    [InlineData("model.layers.5.mlp.gate_up_proj.weight", 5, TensorRole.GateUp)]
    // PEFT adapters keep the base names behind a prefix.
    [InlineData("base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", 7, TensorRole.Query)]
    // GPT-2 (with and without the transformer. prefix).
    [InlineData("transformer.wte.weight", null, TensorRole.TokenEmbedding)]
    [InlineData("wpe.weight", null, TensorRole.PositionEmbedding)]
    [InlineData("transformer.h.4.attn.c_attn.weight", 4, TensorRole.QueryKeyValue)]
    [InlineData("h.4.attn.c_proj.weight", 4, TensorRole.AttentionOutput)]
    [InlineData("h.4.mlp.c_fc.bias", 4, TensorRole.Up)]
    [InlineData("h.4.mlp.c_proj.weight", 4, TensorRole.Down)]
    [InlineData("h.4.ln_1.weight", 4, TensorRole.AttentionNorm)]
    [InlineData("h.4.ln_2.bias", 4, TensorRole.MlpNorm)]
    [InlineData("transformer.ln_f.weight", null, TensorRole.FinalNorm)]
    // BERT (post-norm blocks).
    [InlineData("bert.embeddings.word_embeddings.weight", null, TensorRole.TokenEmbedding)]
    [InlineData("bert.embeddings.position_embeddings.weight", null, TensorRole.PositionEmbedding)]
    [InlineData("bert.embeddings.token_type_embeddings.weight", null, TensorRole.TokenTypeEmbedding)]
    [InlineData("bert.embeddings.LayerNorm.weight", null, TensorRole.EmbeddingNorm)]
    [InlineData("bert.encoder.layer.9.attention.self.query.weight", 9, TensorRole.Query)]
    [InlineData("bert.encoder.layer.9.attention.self.key.bias", 9, TensorRole.Key)]
    [InlineData("bert.encoder.layer.9.attention.self.value.weight", 9, TensorRole.Value)]
    [InlineData("bert.encoder.layer.9.attention.output.dense.weight", 9, TensorRole.AttentionOutput)]
    [InlineData("bert.encoder.layer.9.attention.output.LayerNorm.weight", 9, TensorRole.AttentionNorm)]
    [InlineData("bert.encoder.layer.9.intermediate.dense.weight", 9, TensorRole.Up)]
    [InlineData("bert.encoder.layer.9.output.dense.weight", 9, TensorRole.Down)]
    [InlineData("bert.encoder.layer.9.output.LayerNorm.bias", 9, TensorRole.MlpNorm)]
    // GGUF (gguf-py MODEL_TENSOR names).
    [InlineData("token_embd.weight", null, TensorRole.TokenEmbedding)]
    [InlineData("blk.0.attn_q.weight", 0, TensorRole.Query)]
    [InlineData("blk.0.attn_k.weight", 0, TensorRole.Key)]
    [InlineData("blk.0.attn_v.weight", 0, TensorRole.Value)]
    [InlineData("blk.12.attn_qkv.weight", 12, TensorRole.QueryKeyValue)]
    [InlineData("blk.0.attn_output.weight", 0, TensorRole.AttentionOutput)]
    [InlineData("blk.1.ffn_gate.weight", 1, TensorRole.Gate)]
    [InlineData("blk.1.ffn_up.weight", 1, TensorRole.Up)]
    [InlineData("blk.1.ffn_down.weight", 1, TensorRole.Down)]
    [InlineData("blk.1.attn_norm.weight", 1, TensorRole.AttentionNorm)]
    [InlineData("blk.1.ffn_norm.weight", 1, TensorRole.MlpNorm)]
    [InlineData("output_norm.weight", null, TensorRole.FinalNorm)]
    [InlineData("output.weight", null, TensorRole.LmHead)]
    // Not transformer tensors, and near misses that must not match.
    [InlineData("fc1.weight", null, TensorRole.Other)]
    [InlineData("features.0.weight", 0, TensorRole.Other)]
    [InlineData("model.layers.0.self_attn.qq_proj.weight", 0, TensorRole.Other)]
    [InlineData("model.layers.0.self_attn.rotary_emb.inv_freq", 0, TensorRole.Other)]
    public void Parse_KnownConventions(string name, int? layer, TensorRole role)
    {
        var parsed = TensorNames.Parse(name);
        Assert.Equal(name, parsed.Name);
        Assert.Equal(layer, parsed.Layer);
        Assert.Equal(role, parsed.Role);
        Assert.Equal(name.Split('.')[^1], parsed.Parameter);
    }

    [Fact]
    public void Groups_FollowTheRole()
    {
        Assert.True(TensorNames.Parse("blk.0.attn_qkv.weight").IsAttention);
        Assert.True(TensorNames.Parse("h.0.mlp.c_fc.weight").IsMlp);
        Assert.True(TensorNames.Parse("model.norm.weight").IsNorm);
        Assert.False(TensorNames.Parse("lm_head.weight").IsAttention || TensorNames.Parse("lm_head.weight").IsMlp || TensorNames.Parse("lm_head.weight").IsNorm);
        Assert.Null(TensorNames.Parse("scale").Parameter);
    }

    /// <summary>The shared tiny Llama (written by transformers): every tensor gets a role, each block has exactly the
    /// nine Llama tensors, and the block indices run 0…L−1 as config.json says.</summary>
    [Fact]
    public void SharedTinyLlama_EveryTensorHasARoleAndEveryBlockIsComplete()
    {
        string path = SharedData.Require("llm/base/model.safetensors");
        using var config = SharedData.Json("llm/base/config.json");
        int layers = config.RootElement.GetProperty("num_hidden_layers").GetInt32();
        using var store = Checkpoint.Open(path);
        var parsed = store.Tensors.Select(t => TensorNames.Parse(t.Name)).ToList();
        Assert.DoesNotContain(parsed, p => p.Role == TensorRole.Other);
        Assert.Equal(Enumerable.Range(0, layers).Cast<int?>(), parsed.Where(p => p.Layer is not null).Select(p => p.Layer).Distinct().Order());
        TensorRole[] block = [TensorRole.Query, TensorRole.Key, TensorRole.Value, TensorRole.AttentionOutput, TensorRole.Gate, TensorRole.Up,
            TensorRole.Down, TensorRole.AttentionNorm, TensorRole.MlpNorm];
        foreach (var g in parsed.Where(p => p.Layer is not null).GroupBy(p => p.Layer))
            Assert.Equal(block.Order(), g.Select(p => p.Role).Order());
        Assert.Contains(parsed, p => p.Role == TensorRole.TokenEmbedding);
        Assert.Contains(parsed, p => p.Role == TensorRole.FinalNorm);
    }
}

public sealed class TensorNamesHostileTests
{
    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("...")]
    [InlineData("layers.9999999999.q_proj.weight")]   // 10 digits: no layer index (LayerNames takes at most 9)
    [InlineData("blk..attn_q.weight")]
    [InlineData("model.layers.-1.self_attn.q_proj.weight")]
    [InlineData("\u0000\u00ff.\ud800")]
    public void Parse_OddNames_NeverThrowsAndNamesNoBogusLayer(string name)
    {
        var parsed = TensorNames.Parse(name);
        Assert.Equal(name, parsed.Name);
        Assert.True(parsed.Layer is null or >= 0);
    }

    [Fact]
    public void Parse_LongName_IsLinear()
    {
        string name = string.Concat(Enumerable.Repeat("x.", 100_000)) + "weight";
        Assert.Equal(TensorRole.Other, TensorNames.Parse(name).Role);
        Assert.Null(TensorNames.Parse("layers.9999999999.q_proj.weight").Layer);
    }
}
