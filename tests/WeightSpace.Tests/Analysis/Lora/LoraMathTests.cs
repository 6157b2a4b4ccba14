using WeightSpace.Analysis.Lora;
using WeightSpace.Formats;
using WeightSpace.Formats.Peft;
using static WeightSpace.Tests.Analysis.Lora.LoraFixtures;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary>PEFT's merge on hand-computed cases: each variant's scale or layout rule gives a different number.</summary>
public sealed class LoraMathTests
{
    private static float[] Apply(InMemoryTensorStore baseModel, string adapterFolder, string tensor, double weight = 1)
    {
        string output = Path.Combine(SharedData.TempFolder(), "out");
        using (var adapter = PeftAdapter.Open(adapterFolder))
            LoraApplication.Write(baseModel, [(BoundAdapter.Bind(adapter, baseModel), weight)], output, ct: TestContext.Current.CancellationToken);
        using var merged = Checkpoint.Open(output);
        return merged.ReadSingle(tensor);
    }

    [Fact]
    public void RsLora_ScalesByAlphaOverSqrtRank()
    {
        var baseModel = new InMemoryTensorStore().Add("q_proj.weight", new float[6], 2, 3);
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "q_proj.lora_A.weight", [1, 0, 0, 0, 1, 0], 2, 3)
            .Add(Prefix + "q_proj.lora_B.weight", [1, 0, 0, 1], 2, 2);
        var w = Apply(baseModel, Write(Config(2, 4, "\"use_rslora\": true"), tensors), "q_proj.weight");
        float s = (float)(4 / Math.Sqrt(2));   // 2√2, not α/r = 2
        Assert.Equal([s, 0, 0, 0, s, 0], w);
    }

    [Fact]
    public void AlphaAndRankPattern_FollowPeftKeyMatching()
    {
        // alpha_pattern "v_proj" matches "...self_attn.v_proj" after a dot; rank_pattern "layers.1.self_attn.q_proj"
        // matches layer 1 but not layer 11 (the key must follow a dot or start the name).
        var baseModel = new InMemoryTensorStore()
            .Add("model.layers.1.self_attn.q_proj.weight", new float[2], 1, 2)
            .Add("model.layers.11.self_attn.q_proj.weight", new float[2], 1, 2)
            .Add("model.layers.1.self_attn.v_proj.weight", new float[2], 1, 2);
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "model.layers.1.self_attn.q_proj.lora_A.default.weight", [1, 1, 1, 1], 2, 2)
            .Add(Prefix + "model.layers.1.self_attn.q_proj.lora_B.default.weight", [1, 1], 1, 2)
            .Add(Prefix + "model.layers.11.self_attn.q_proj.lora_A.default.weight", [1, 0], 1, 2)
            .Add(Prefix + "model.layers.11.self_attn.q_proj.lora_B.default.weight", [1], 1, 1)
            .Add(Prefix + "model.layers.1.self_attn.v_proj.lora_A.default.weight", [1, 0], 1, 2)
            .Add(Prefix + "model.layers.1.self_attn.v_proj.lora_B.default.weight", [1], 1, 1);
        string config = Config(1, 2, "\"rank_pattern\": {\"layers.1.self_attn.q_proj\": 2}, \"alpha_pattern\": {\"v_proj\": 8, \"q_proj\": 4}");
        string folder = Write(config, tensors);
        using (var adapter = PeftAdapter.Open(folder))
        {
            Assert.Equal("default", adapter.AdapterName);
            var scales = adapter.Modules.ToDictionary(m => m.Module, m => m.Scale);
            Assert.Equal(2.0, scales["model.layers.1.self_attn.q_proj"]);    // α 4 (q_proj pattern) / r 2
            Assert.Equal(4.0, scales["model.layers.11.self_attn.q_proj"]);   // α 4 / r 1 (rank pattern does not match layer 11)
            Assert.Equal(8.0, scales["model.layers.1.self_attn.v_proj"]);    // α 8 / r 1
        }
        Assert.Equal([4f, 4f], Apply(baseModel, folder, "model.layers.1.self_attn.q_proj.weight"));   // 2 · [1,1]·[[1,1],[1,1]]
        Assert.Equal([8f, 0f], Apply(baseModel, folder, "model.layers.1.self_attn.v_proj.weight"));
    }

    [Fact]
    public void FanInFanOut_AddsTransposedProduct()
    {
        // GPT-2 Conv1D stores [in = 3, out = 2]; B·A is [out, in] and is added transposed.
        var baseModel = new InMemoryTensorStore().Add("h.0.attn.c_attn.weight", [100, 200, 300, 400, 500, 600], 3, 2);
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "h.0.attn.c_attn.lora_A.weight", [1, 2, 3], 1, 3)
            .Add(Prefix + "h.0.attn.c_attn.lora_B.weight", [1, 10], 2, 1);
        var w = Apply(baseModel, Write(Config(1, 1, "\"fan_in_fan_out\": true", "[\"c_attn\"]"), tensors), "h.0.attn.c_attn.weight");
        Assert.Equal([101, 210, 302, 420, 503, 630], w);
    }

    [Fact]
    public void Dora_RescalesEachOutputRowToItsMagnitude()
    {
        // W = [[3,4],[0,0]], ΔW = [[0,0],[5,0]]: W+ΔW has row norms 5 and 5 (column norms would be √34 and 4).
        var baseModel = new InMemoryTensorStore().Add("q_proj.weight", [3, 4, 0, 0], 2, 2);
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "q_proj.lora_A.weight", [1, 0], 1, 2)
            .Add(Prefix + "q_proj.lora_B.weight", [0, 5], 2, 1)
            .Add(Prefix + "q_proj.lora_magnitude_vector", [10, 1], 2);
        var w = Apply(baseModel, Write(Config(1, 1, "\"use_dora\": true", "[\"q_proj\"]"), tensors), "q_proj.weight");
        Assert.Equal([6, 8, 1, 0], w);
    }

    [Fact]
    public void EmbeddingLora_AddsTransposedProduct()
    {
        var baseModel = new InMemoryTensorStore().Add("model.embed_tokens.weight", new float[6], 3, 2);
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "model.embed_tokens.lora_embedding_A", [1, 2, 3], 1, 3)
            .Add(Prefix + "model.embed_tokens.lora_embedding_B", [1, -1], 2, 1);
        var w = Apply(baseModel, Write(Config(1, 3, "", "[\"embed_tokens\"]"), tensors), "model.embed_tokens.weight");
        Assert.Equal([3, -3, 6, -6, 9, -9], w);
    }

    [Fact]
    public void ModulesToSave_ReplacesBaseTensor_AndWeightScalesDelta()
    {
        var baseModel = new InMemoryTensorStore()
            .Add("model.q_proj.weight", [1, 1], 1, 2)
            .Add("lm_head.weight", [0, 0], 1, 2);
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "model.q_proj.lora_A.weight", [1, 2], 1, 2)
            .Add(Prefix + "model.q_proj.lora_B.weight", [1], 1, 1)
            .Add(Prefix + "lm_head.weight", [7, 8], 1, 2);
        string folder = Write(Config(1, 1, "\"modules_to_save\": [\"lm_head\"]", "[\"q_proj\"]"), tensors);
        Assert.Equal([7, 8], Apply(baseModel, folder, "lm_head.weight"));
        Assert.Equal([1.5f, 2f], Apply(baseModel, folder, "model.q_proj.weight", weight: 0.5));
    }
}
