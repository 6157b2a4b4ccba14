using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>Where WeightSpace used to differ from mergekit, each case against a hand-computed result.</summary>
public sealed class MergekitSemanticsTests
{
    private static Dictionary<string, float[]> Run(string yaml, Dictionary<string, TensorStore> stores)
    {
        var sink = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(MergeConfig.Parse(yaml), stores), sink, ct: TestContext.Current.CancellationToken);
        return sink.Floats.ToDictionary(p => p.Key, p => p.Value);
    }

    [Fact]
    public void Gradient_OnTensorsOutsideTheLayers_IsEvaluatedAtTZero()
    {
        // mergekit's plan_module reads pre_weights and post_weights through one ConfigReader(t=0): with a weight gradient
        // [1, 0] for a and [0, 1] for b, every non-layer tensor (embeddings and the final norm) is a's exactly, while the
        // last layer (t = 1) is b's. Evaluating the norm at t = 1 (the old rule) would give b's norm.
        var stores = new Dictionary<string, TensorStore> { ["a"] = FakeModels.Decoder("a", 3, 0), ["b"] = FakeModels.Decoder("b", 3, 1000) };
        var merged = Run("""
            merge_method: linear
            models:
              - model: a
                parameters: {weight: [1, 0]}
              - model: b
                parameters: {weight: [0, 1]}
            """, stores);
        Assert.Equal(stores["a"].ReadSingle("model.norm.weight"), merged["model.norm.weight"]);
        Assert.Equal(stores["a"].ReadSingle("model.embed_tokens.weight"), merged["model.embed_tokens.weight"]);
        Assert.Equal(stores["b"].ReadSingle("model.layers.2.mlp.up_proj.weight"), merged["model.layers.2.mlp.up_proj.weight"]);
        Assert.Equal(stores["a"].ReadSingle("model.layers.0.mlp.up_proj.weight"), merged["model.layers.0.mlp.up_proj.weight"]);
    }

    [Fact]
    public void Karcher_IncludesTheBaseModelAsOneMoreInput()
    {
        // Three colinear inputs of norms 1, 2, 3: the Karcher mean direction is theirs and the scale is the mean norm.
        // With base c included (mergekit): (1 + 2 + 3)/3 = 2 → [1.2, 1.6]; without it: 1.5 → [0.9, 1.2].
        float[] u = [0.6f, 0.8f];
        InMemoryTensorStore Model(string name, float norm) => MergeTestKit.Store(name, ("model.layers.0.w", [u[0] * norm, u[1] * norm], [2]));
        var stores = new Dictionary<string, TensorStore> { ["a"] = Model("a", 1), ["b"] = Model("b", 2), ["c"] = Model("c", 3) };
        var merged = Run("""
            merge_method: karcher
            base_model: c
            models:
              - model: a
              - model: b
            """, stores);
        MergeTestKit.Close([1.2f, 1.6f], merged["model.layers.0.w"], 1e-6);
    }

    [Fact]
    public void NuSlerp_WeightsSummingToZero_FallBackToTHalf()
    {
        // mergekit: |w₁ + w₂| < 1e-6 → t = 0.5. Orthogonal unit vectors at t = 0.5: (sin(π/4)·e₁ + sin(π/4)·e₂)/sin(π/2).
        var result = MergeTestKit.Merge("nuslerp", null, [[1f, 0f], [0f, 1f]], MergeTestKit.P(("weight", [1.0, -1.0])));
        float h = MathF.Sqrt(0.5f);
        MergeTestKit.Close([h, h], result, 1e-6);
    }

    [Fact]
    public void IgnoredParameter_WarnsWithKeyAndLine_StrictRefuses()
    {
        // mergekit's slerp reads only t; a per-model weight is ignored there, so it is a warning here, an error with strict.
        const string yaml = """
            merge_method: slerp
            base_model: a
            models:
              - model: a
              - model: b
                parameters:
                  weight: 0.3
            parameters:
              t: 0.5
            """;
        var config = MergeConfig.Parse(yaml);
        var warning = Assert.Single(config.Warnings);
        Assert.Contains("line 7: 'weight'", warning);
        var ex = Assert.Throws<MergeConfigException>(() => MergeConfig.Parse(yaml, strict: true));
        Assert.Equal("weight", ex.Key);
        Assert.Equal(7, ex.Line);
    }

    [Fact]
    public void TokenizerBlock_And_ChatTemplate_AreRead()
    {
        var config = MergeConfig.Parse("""
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
              - model: b
                parameters: {weight: 1}
            chat_template: chatml
            tokenizer:
              source: union
              pad_to_multiple_of: 8
              tokens:
                <|im_start|>:
                  source: b
                  force: true
                <|im_end|>:
                  source: {kind: model_token, model: a, token_id: 3}
                <pad>:
                  source: {kind: zero}
            """);
        Assert.Equal("union", config.TokenizerSource);
        Assert.Equal("chatml", config.ChatTemplate);
        Assert.Equal(8, config.Tokenizer!.PadToMultipleOf);
        Assert.Equal(new TokenEmbeddingSetting(TokenSourceKind.Model, "b", null, null, true), config.Tokenizer.Tokens["<|im_start|>"]);
        Assert.Equal(new TokenEmbeddingSetting(TokenSourceKind.ModelToken, "a", null, 3, false), config.Tokenizer.Tokens["<|im_end|>"]);
        Assert.Equal(TokenSourceKind.Zero, config.Tokenizer.Tokens["<pad>"].Kind);
    }

    [Fact]
    public void MultiDocument_ReadsEveryDocumentWithItsName()
    {
        var docs = MergeConfig.ParseDocuments("""
            name: first
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            ---
            merge_method: linear
            models:
              - model: first
                parameters: {weight: 1}
            """);
        Assert.Equal(["first", null], docs.Select(d => d.Name));
        Assert.Throws<MergeConfigException>(() => MergeConfig.ParseDocuments("merge_method: linear\nmodels: [{model: a}]\n---\nmerge_method: linear\nmodels: [{model: b}]\n"));
    }
}
