using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Compatibility;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Analysis.Merging;

public class MergeConfigTests
{
    // Shaped like mergekit's README TIES example (gradients, a name filter, int8_mask, dtype).
    private const string TiesYaml = """
        models:
          - model: orca
            parameters:
              density: [1, 0.7, 0.1] # density gradient
              weight: 1.0
          - model: platypus
            parameters:
              density: 0.5
              weight: [0, 0.3, 0.7, 1] # weight gradient
          - model: wizardmath
            parameters:
              density: 0.33
              weight:
                - filter: mlp
                  value: 0.5
                - value: 0
        merge_method: ties
        base_model: llama
        parameters:
          normalize: true
          int8_mask: true
        dtype: float16
        """;

    // Shaped like the common SLERP example with per-module t gradients.
    private const string SlerpYaml = """
        slices:
          - sources:
              - model: hermes
                layer_range: [0, 4]
              - model: optimized
                layer_range: [0, 4]
        merge_method: slerp
        base_model: optimized
        parameters:
          t:
            - filter: self_attn
              value: [0, 0.5, 0.3, 0.7, 1]
            - filter: mlp
              value: [1, 0.5, 0.7, 0.3, 0]
            - value: 0.5
        dtype: bfloat16
        """;

    private static Dictionary<string, TensorStore> Stores(params string[] names) =>
        names.Select((n, i) => (n, (TensorStore)FakeModels.Decoder(n, 4, i))).ToDictionary(p => p.n, p => p.Item2);

    private static PlannedTensor Find(MergePlan plan, string name) => plan.Tensors.Single(t => t.Output.Name == name);

    [Fact]
    public void Parse_TiesReadmeExample_ResolvesGradientsAndFilters()
    {
        var config = MergeConfig.Parse(TiesYaml);
        var plan = MergePlan.Create(config, Stores("llama", "orca", "platypus", "wizardmath"));
        // Layer 2 of 4 → t = 2/3. orca density [1, 0.7, 0.1]: s = 4/3, i = 1, frac 1/3 → 0.7·2/3 + 0.1·1/3 = 0.5.
        // platypus weight [0, 0.3, 0.7, 1]: s = 2 → 0.7. wizardmath weight: mlp → 0.5, else 0.
        var mlp = Find(plan, "model.layers.2.mlp.up_proj.weight");
        Assert.Equal(0.5, mlp.Parameters.PerModel("density", 0), 10);
        Assert.Equal(0.7, mlp.Parameters.PerModel("weight", 1), 10);
        Assert.Equal(0.5, mlp.Parameters.PerModel("weight", 2), 10);
        Assert.Equal(0.0, Find(plan, "model.layers.2.self_attn.q_proj.weight").Parameters.PerModel("weight", 2));
        Assert.True(mlp.Parameters.Flag("normalize"));
        Assert.Equal("llama", mlp.Base!.Model);
        Assert.Equal(["orca", "platypus", "wizardmath"], mlp.Models.Select(m => m.Model));
        Assert.Equal(DType.F16, mlp.Output.DType);
        // Integers are copied in their own dtype; every tensor outside the layers evaluates gradients at t = 0 (orca
        // density 1), the final norm included: mergekit's plan_module reads pre and post weights with ConfigReader(t=0).
        Assert.Equal(DType.I64, Find(plan, "model.position_ids").Output.DType);
        Assert.True(Find(plan, "model.position_ids").IsCopy);
        Assert.Equal(1.0, Find(plan, "model.embed_tokens.weight").Parameters.PerModel("density", 0), 10);
        Assert.Equal(1.0, Find(plan, "model.norm.weight").Parameters.PerModel("density", 0), 10);
    }

    [Fact]
    public void Parse_SlerpSlicesExample_InterpolatesTPerLayerAndFilter()
    {
        var plan = MergePlan.Create(MergeConfig.Parse(SlerpYaml), Stores("hermes", "optimized"));
        // Layer 1 of 4: t = 1/3 → s = 4/3, i = 1, frac 1/3. self_attn: 0.5·2/3 + 0.3·1/3 = 0.43333; mlp: 0.5·2/3 + 0.7·1/3 = 0.56667.
        Assert.Equal(0.433333, Find(plan, "model.layers.1.self_attn.q_proj.weight").Parameters.Global("t"), 5);
        Assert.Equal(0.566667, Find(plan, "model.layers.1.mlp.up_proj.weight").Parameters.Global("t"), 5);
        Assert.Equal(0.5, Find(plan, "model.norm.weight").Parameters.Global("t"));
        Assert.Equal("optimized", Find(plan, "model.norm.weight").Base!.Model);
        Assert.Equal(DType.BF16, plan.Outputs.First(o => o.Name == "model.norm.weight").DType);
    }

    [Fact]
    public void Parse_PassthroughFrankenmerge_StacksAndRenumbersLayers()
    {
        const string yaml = """
            slices:
              - sources:
                - model: a
                  layer_range: [0, 2]
              - sources:
                - model: b
                  layer_range: [1, 3]
            merge_method: passthrough
            """;
        var stores = Stores("a", "b");
        var plan = MergePlan.Create(MergeConfig.Parse(yaml), stores);
        var sink = new CollectingSink();
        MergeRunner.Run(plan, sink, maxParallelism: 2, ct: TestContext.Current.CancellationToken);
        // Output layers 0, 1 come from a's 0, 1; output layers 2, 3 from b's 1, 2. b has offset 1 (FakeModels.Decoder(n, 4, i)).
        Assert.Equal(stores["a"].ReadSingle("model.layers.1.mlp.up_proj.weight"), sink.Floats["model.layers.1.mlp.up_proj.weight"]);
        Assert.Equal(stores["b"].ReadSingle("model.layers.1.mlp.up_proj.weight"), sink.Floats["model.layers.2.mlp.up_proj.weight"]);
        Assert.Equal(stores["b"].ReadSingle("model.layers.2.self_attn.q_proj.weight"), sink.Floats["model.layers.3.self_attn.q_proj.weight"]);
        Assert.Equal(4 * 2 + 3, plan.Outputs.Count);   // 8 layer tensors + embed + norm + position_ids
        Assert.Equal(stores["a"].ReadSingle("model.embed_tokens.weight"), sink.Floats["model.embed_tokens.weight"]);
        Assert.Equal(stores["b"].ReadSingle("model.norm.weight"), sink.Floats["model.norm.weight"]);
    }

    [Fact]
    public void Parse_DareTiesWithTokenizerSourceBase_ResolvesTokenizerModel()
    {
        const string yaml = """
            models:
              - model: ft1
                parameters: {weight: 0.5, density: 0.6}
              - model: ft2
                parameters: {weight: 0.5, density: 0.6}
            merge_method: dare_ties
            base_model: base
            tokenizer_source: base
            random_seed: 42
            out_dtype: float32
            """;
        var plan = MergePlan.Create(MergeConfig.Parse(yaml), Stores("base", "ft1", "ft2"));
        Assert.Equal("base", plan.TokenizerSource);
        Assert.Equal(DType.F32, plan.Outputs[0].DType);
    }

    [Theory]
    [InlineData("merge_methd: ties\nmodels:\n  - model: a\n", "merge_methd", 1)]
    [InlineData("models:\n  - model: a\n    paramters: {weight: 1}\nmerge_method: linear\n", "paramters", 3)]
    [InlineData("models:\n  - model: a\n    parameters: {weight: 1}\nmerge_method: tie\nbase_model: b\n", "merge_method", 4)]
    [InlineData("models:\n  - model: a\n    parameters:\n      weight: 1\n      density: 1.5\nmerge_method: ties\nbase_model: b\n", "density", 5)]
    [InlineData("models:\n  - model: a\n    parameters: {weight: 1}\nmerge_method: ties\n", "base_model", null)]
    [InlineData("models:\n  - model: a\nmerge_method: ties\nbase_model: b\n", "weight", null)]
    [InlineData("models:\n  - model: a\n    parameters: {weight: 1}\nmerge_method: linear\ntokenizer_source: c\n", "tokenizer_source", 5)]
    [InlineData("models:\n  - model: a\n    parameters: {weight: 1}\nmerge_method: linear\nchat_template: nosuchname\n", "chat_template", 5)]
    [InlineData("models:\n  - model: a\nmerge_method: linear\ntokenizer_source: base\ntokenizer: {source: union}\n", "tokenizer", 5)]
    [InlineData("models:\n  - model: a\n    parameters: {weight: 1}\nmerge_method: linear\ndtype: float64\n", "dtype", 5)]
    [InlineData("modules:\n  text: {}\nmerge_method: linear\n", "modules", 1)]
    public void Parse_BadConfig_ThrowsNamingKeyAndLine(string yaml, string key, int? line)
    {
        var ex = Assert.Throws<MergeConfigException>(() => MergeConfig.Parse(yaml).Method);
        Assert.Equal(key, ex.Key);
        Assert.Contains($"'{key}'", ex.Message);
        if (line is not null) Assert.Equal(line, ex.Line);
    }

    [Fact]
    public void Plan_FilterWithoutFallback_MissingRequiredParameterNamesTensor()
    {
        const string yaml = "models:\n  - model: a\n    parameters:\n      weight:\n        - filter: mlp\n          value: 1\nmerge_method: linear\n";
        var ex = Assert.Throws<MergeConfigException>(() => MergePlan.Create(MergeConfig.Parse(yaml), Stores("a")));
        Assert.Equal("weight", ex.Key);
        Assert.Contains("tensor 'model.embed_tokens.weight'", ex.Message);
    }

    [Fact]
    public void Plan_MissingAndMismatchedTensors_AreListedTogether()
    {
        var b = FakeModels.Decoder("b", 2, 0);
        var a = new InMemoryTensorStore("a");
        foreach (var t in b.Tensors.Where(t => t.Name != "model.norm.weight" && t.Name != "model.layers.1.mlp.up_proj.weight"))
        {
            if (t.Name == "model.embed_tokens.weight") a.Add(t.Name, new float[12], 4, 3);
            else a.Add(t, b.Read(t.Name).Bytes);
        }
        var config = new MergeConfigBuilder("task_arithmetic").WithBase("b").AddModel("a", new Dictionary<string, double> { ["weight"] = 1 }).Build();
        var ex = Assert.Throws<ModelMismatchException>(() => MergePlan.Create(config, new Dictionary<string, TensorStore> { ["a"] = a, ["b"] = b }));
        Assert.Equal(3, ex.Problems.Count);
        Assert.Contains(ex.Problems, p => p.Contains("model.norm.weight"));
        Assert.Contains(ex.Problems, p => p.Contains("model.layers.1.mlp.up_proj.weight"));
        Assert.Contains(ex.Problems, p => p.Contains("model.embed_tokens.weight") && p.Contains("[4, 3]"));
    }

    [Fact]
    public void Plan_TokenizerSourceWithDifferentVocab_Throws()
    {
        var stores = new Dictionary<string, TensorStore> { ["b"] = FakeModels.Decoder("b", 2, 0, vocab: 5), ["a"] = FakeModels.Decoder("a", 2, 1, vocab: 6) };
        var config = new MergeConfigBuilder("linear").AddModel("a", new Dictionary<string, double> { ["weight"] = 1 })
            .AddModel("b", new Dictionary<string, double> { ["weight"] = 1 }).WithTokenizerSource("b").Build();
        var ex = Assert.Throws<MergeConfigException>(() => MergePlan.Create(config, stores));
        Assert.Equal("tokenizer_source", ex.Key);
        Assert.Contains("model.embed_tokens.weight", ex.Message);
    }

    [Fact]
    public void Builder_SlerpWithTwoModels_RejectsModelCount()
    {
        var config = new MergeConfigBuilder("slerp").WithBase("b").AddModel("a").AddModel("c").Set("t", 0.5).Build();
        var ex = Assert.Throws<MergeConfigException>(() => MergePlan.Create(config, Stores("a", "b", "c")));
        Assert.Contains("exactly 1", ex.Message);
    }
}
