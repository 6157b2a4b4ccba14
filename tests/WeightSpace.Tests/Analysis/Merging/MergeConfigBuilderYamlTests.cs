using WeightSpace.Analysis.Merging.Config;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>The one-liner path: the builder's YAML parses back to the config the builder builds.</summary>
public sealed class MergeConfigBuilderYamlTests
{
    [Fact]
    public void ToYaml_ParsesBackToTheSameConfig()
    {
        var builder = new MergeConfigBuilder("ties")
            .WithBase("base \"quoted\".safetensors")
            .AddModel("a.safetensors", new Dictionary<string, double> { ["weight"] = 0.7, ["density"] = 0.5 })
            .AddModel("c.safetensors", new Dictionary<string, double> { ["weight"] = 1.0 / 3, ["density"] = 0.25 })
            .Set("lambda", 1.25)
            .Set("normalize", ParameterSetting.Parse("false"))
            .Set("semantics", ParameterSetting.Parse("paper"))
            .WithDTypes(null, DType.BF16)
            .WithSeed(7);
        string yaml = builder.ToYaml();
        var parsed = MergeConfig.Parse(yaml);
        var built = builder.Build();
        Assert.Equal(built.MergeMethod, parsed.MergeMethod);
        Assert.Equal("base \"quoted\".safetensors", parsed.BaseModel);
        Assert.Equal(DType.BF16, parsed.OutDType);
        Assert.Equal(7UL, parsed.Seed);
        Assert.Equal(built.Models!.Select(m => m.Model), parsed.Models!.Select(m => m.Model));
        for (int i = 0; i < 2; i++)
            Assert.Equal(built.Models![i].Parameters.ToDictionary(p => p.Key, p => p.Value.ToString()), parsed.Models![i].Parameters.ToDictionary(p => p.Key, p => p.Value.ToString()));
        Assert.Equal(1.0 / 3, parsed.Models![1].Parameters["weight"].Evaluate("x", 0));
        Assert.Equal(built.Parameters.ToDictionary(p => p.Key, p => p.Value.ToString()), parsed.Parameters.ToDictionary(p => p.Key, p => p.Value.ToString()));
        Assert.Equal("paper", parsed.Parameters["semantics"].Evaluate("x", 0));
    }

    [Fact]
    public void ToYaml_GradientsAndFiltersRoundTrip()
    {
        var builder = new MergeConfigBuilder("slerp").WithBase("a").AddModel("a").AddModel("b")
            .Set("t", ParameterSetting.Filtered(("self_attn", ParameterSetting.Gradient(0, 0.5, 1)), (null, ParameterSetting.Of(0.3))));
        var parsed = MergeConfig.Parse(builder.ToYaml());
        var t = parsed.Parameters["t"];
        Assert.Equal(0.5, t.Evaluate("model.layers.0.self_attn.q_proj.weight", 0.5));
        Assert.Equal(0.75, t.Evaluate("model.layers.0.self_attn.q_proj.weight", 0.75));
        Assert.Equal(0.3, t.Evaluate("model.layers.0.mlp.up_proj.weight", 0.5));
    }

    [Theory]
    [InlineData("0.5", 0.5)]
    [InlineData("1e-3", 0.001)]
    [InlineData("paper", "paper")]
    [InlineData("true", "true")]
    public void Parse_CommandLineValue_IsANumberOrAWord(string text, object expected) =>
        Assert.Equal(expected, ParameterSetting.Parse(text).Evaluate("x", 0));
}
