using System.Text;
using CsCheck;
using WeightSpace.Analysis.Language;

namespace WeightSpace.Tests.Analysis.Language;

/// <summary>config.json parsing: the real file, HF's variants, and hostile input (one typed error naming the key).</summary>
public sealed class LlamaConfigTests
{
    private const string Minimal = """{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 300}""";

    private static LlamaConfig Parse(string json) => LlamaConfig.Parse(Encoding.UTF8.GetBytes(json), "config.json");

    private static string With(string extra) => Minimal[..^1] + ", " + extra + "}";

    [Fact]
    public void Load_TinyLlama_ReadsEveryField()
    {
        var c = LlamaConfig.Load(TinyLlama.Folder("base"));
        Assert.Equal(LanguageModelFamily.Llama, c.Family);
        Assert.Equal((256, 768, 4, 8, 2, 32, 256, 512), (c.HiddenSize, c.IntermediateSize, c.LayerCount, c.HeadCount, c.KeyValueHeadCount, c.HeadDim, c.VocabularySize, c.MaxPositionEmbeddings));
        Assert.Equal(1e-5, c.RmsNormEpsilon);
        Assert.Equal(10000, c.RopeTheta);
        Assert.Null(c.RopeScaling);
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.QkvBias);
    }

    [Fact]
    public void Parse_Minimal_UsesHuggingFaceDefaults()
    {
        var c = Parse(Minimal);
        Assert.Equal(4, c.KeyValueHeadCount);   // num_key_value_heads defaults to num_attention_heads
        Assert.Equal(16, c.HeadDim);            // hidden_size / num_attention_heads
        Assert.Equal(1e-6, c.RmsNormEpsilon);
        Assert.Equal(2048, c.MaxPositionEmbeddings);
        Assert.Equal("silu", c.Activation);
    }

    [Fact]
    public void Parse_Families_ApplyTheirDifferences()
    {
        var qwen = Parse(Minimal.Replace("llama", "qwen2"));
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputProjectionBias);
        var gemma = Parse(Minimal.Replace("llama", "gemma"));
        Assert.True(gemma.TieWordEmbeddings);
        Assert.Equal("gelu_pytorch_tanh", gemma.Activation);
        var mistral = Parse(With("\"sliding_window\": 4096").Replace("llama", "mistral"));
        Assert.Equal(4096, mistral.SlidingWindow);
        Assert.Equal(8000, Parse(With("\"hidden_size\": 8000.0").Replace("\"hidden_size\": 64, ", "")).HiddenSize);
    }

    [Fact]
    public void Parse_RopeScaling_LinearDividesAndLlama3KeepsHighFrequencies()
    {
        var plain = RopeScaling.InverseFrequencies(500000, 64, null);
        var linear = Parse(With("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}")).RopeScaling;
        var linearFreq = RopeScaling.InverseFrequencies(500000, 64, linear);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i] / 4, linearFreq[i], plain[i] * 1e-6f);

        var llama3 = Parse(With("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}")).RopeScaling!;
        var f = RopeScaling.InverseFrequencies(500000, 64, llama3);
        // Wavelengths below 8192/4 = 2048 are kept, above 8192/1 divided by 8, in between interpolated (Llama 3.1's rule).
        for (int i = 0; i < plain.Length; i++)
        {
            double wavelength = 2 * Math.PI / plain[i];
            if (wavelength < 2048) Assert.Equal(plain[i], f[i]);
            else if (wavelength > 8192) Assert.Equal(plain[i] / 8, f[i], plain[i] * 1e-6f);
            else Assert.InRange(f[i], plain[i] / 8 * (1 - 1e-6f), plain[i] * (1 + 1e-6f));
        }
    }

    [Theory]
    [InlineData("""{"model_type": "gpt_neox", "hidden_size": 64}""", "model_type", "gpt_neox")]
    [InlineData("""{"model_type": "gemma2", "hidden_size": 64}""", "model_type", "gemma2")]
    [InlineData("ROPE:{\"type\": \"yarn\", \"factor\": 2}", "rope_scaling.rope_type", "yarn")]
    [InlineData("ACT:\"relu\"", "hidden_act", "relu")]
    public void Parse_Unsupported_ThrowsNamingKeyAndValue(string json, string key, string value)
    {
        json = json.StartsWith("ROPE:", StringComparison.Ordinal) ? With("\"rope_scaling\": " + json[5..])
            : json.StartsWith("ACT:", StringComparison.Ordinal) ? With("\"hidden_act\": " + json[4..]) : json;
        var e = Assert.Throws<UnsupportedModelException>(() => Parse(json));
        Assert.Equal(key, e.Key);
        Assert.Contains(value, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Theory]
    [InlineData("not json", null)]
    [InlineData("[1, 2]", null)]
    [InlineData("{\"hidden_size\": 64}", "model_type")]
    [InlineData("{\"model_type\": 7}", "model_type")]
    [InlineData("MINUS:hidden_size", "hidden_size")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64.5}", "hidden_size")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 1e300}", "hidden_size")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": \"64\"}", "hidden_size")]
    [InlineData("EXTRA:\"num_key_value_heads\": 3", "num_key_value_heads")]
    [InlineData("EXTRA:\"head_dim\": 15", "head_dim")]
    [InlineData("EXTRA:\"rms_norm_eps\": -1", "rms_norm_eps")]
    [InlineData("EXTRA:\"tie_word_embeddings\": \"yes\"", "tie_word_embeddings")]
    [InlineData("EXTRA:\"rope_scaling\": 4", "rope_scaling")]
    [InlineData("EXTRA:\"rope_scaling\": {\"type\": \"linear\"}", "rope_scaling.factor")]
    [InlineData("EXTRA:\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 1, \"original_max_position_embeddings\": 8192}", "rope_scaling.high_freq_factor")]
    public void Parse_Malformed_ThrowsNamingTheKey(string json, string? key)
    {
        if (json.StartsWith("MINUS:", StringComparison.Ordinal)) json = Minimal.Replace("\"" + json[6..] + "\": 64", "\"" + json[6..] + "\": -64");
        if (json.StartsWith("EXTRA:", StringComparison.Ordinal)) json = With(json[6..]);
        var e = Assert.Throws<InvalidModelConfigException>(() => Parse(json));
        Assert.Equal(key, e.Key);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Parse_DeepNesting_IsRejectedNotRecursed()
    {
        string deep = With("\"x\": " + new string('[', 10_000) + new string(']', 10_000));
        Assert.Throws<InvalidModelConfigException>(() => Parse(deep));
    }

    [Fact]
    public void Parse_MutatedRealConfig_ThrowsOnlyTypedErrors()
    {
        byte[] real = File.ReadAllBytes(Path.Combine(TinyLlama.Folder("base"), "config.json"));
        Gen.Select(Gen.Int[0, real.Length - 1], Gen.Byte, Gen.Int[0, 2]).Sample((at, value, kind) =>
        {
            var bytes = real.ToList();
            if (kind == 0) bytes[at] = value;
            else if (kind == 1) bytes.Insert(at, value);
            else bytes.RemoveRange(at, Math.Min(real.Length - at, 1 + value % 16));
            try { LlamaConfig.Parse(bytes.ToArray(), "config.json"); }
            catch (WeightSpaceException) { }
        }, iter: 2000);
    }
}
