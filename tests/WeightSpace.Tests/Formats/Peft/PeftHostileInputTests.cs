using System.Text;
using WeightSpace.Analysis.Lora;
using WeightSpace.Formats.Peft;
using WeightSpace.Tests.Analysis.Lora;
using static WeightSpace.Tests.Analysis.Lora.LoraFixtures;

namespace WeightSpace.Tests.Formats.Peft;

/// <summary>Hostile and mismatched adapters: a typed one-line error naming the key or module and shapes, nothing written.</summary>
public sealed class PeftHostileInputTests
{
    private static InMemoryTensorStore Factors(long r, long inFeatures = 3, long outFeatures = 2, long? bRank = null) => new InMemoryTensorStore()
        .Add(Prefix + "q_proj.lora_A.weight", new float[r * inFeatures], r, inFeatures)
        .Add(Prefix + "q_proj.lora_B.weight", new float[outFeatures * (bRank ?? r)], outFeatures, bRank ?? r);

    private static InvalidAdapterException Refused(string config, InMemoryTensorStore tensors)
    {
        string folder = LoraFixtures.Write(config, tensors);
        var e = Assert.Throws<InvalidAdapterException>(() => PeftAdapter.Open(folder).Dispose());
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Theory]
    [InlineData("0", "rank 0 is outside")]
    [InlineData("-3", "rank -3 is outside")]
    [InlineData("1000000000", "rank 1000000000 is outside")]
    [InlineData("2.5", "is not an integer rank")]
    [InlineData("\"8\"", "is not an integer rank")]
    public void Config_BadRank_Refused(string r, string message)
    {
        var e = Assert.Throws<InvalidAdapterException>(() => PeftAdapterConfig.Parse(Encoding.UTF8.GetBytes(
            $$"""{"peft_type": "LORA", "r": {{r}}, "lora_alpha": 16}"""), "cfg.json"));
        Assert.Contains("key 'r'", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("""{"peft_type": "IA3", "r": 8}""", "peft_type")]
    [InlineData("""{"r": 8}""", "peft_type")]
    [InlineData("""{"peft_type": "LORA"}""", "key 'r'")]
    [InlineData("""[1, 2]""", "not an object")]
    [InlineData("""{"peft_type": "LORA", "r": 8""", "not valid JSON")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "r": 4}""", "appears twice")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "lora_alpha": "big"}""", "lora_alpha")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "bias": "some"}""", "bias")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "target_modules": 5}""", "target_modules")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "target_modules": "q_proj("}""", "target_modules")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "rank_pattern": {"q_proj": 0}}""", "rank_pattern 'q_proj'")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "alpha_pattern": {"q_proj": "x"}}""", "alpha_pattern 'q_proj'")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "use_dora": 1}""", "use_dora")]
    [InlineData("""{"peft_type": "LORA", "r": 8, "a": [[[[[[[[[[1]]]]]]]]]]}""", "not valid JSON")]
    public void Config_Malformed_RefusedNamingTheKey(string json, string expected)
    {
        var e = Assert.Throws<InvalidAdapterException>(() => PeftAdapterConfig.Parse(Encoding.UTF8.GetBytes(json), "cfg.json"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("cfg.json: ", e.Message);
    }

    [Fact]
    public void Config_CatastrophicRegex_RefusedAfterTimeout()
    {
        var config = PeftAdapterConfig.Parse(Encoding.UTF8.GetBytes("""{"peft_type": "LORA", "r": 8, "target_modules": "(a+)+b"}"""), "cfg.json",
            new PeftOptions { RegexTimeout = TimeSpan.FromMilliseconds(50) });
        var e = Assert.Throws<InvalidAdapterException>(() => config.IsTargeted(new string('a', 40000) + "c"));
        Assert.Contains("target_modules", e.Message);
    }

    [Fact]
    public void Config_TooLarge_Refused()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"peft_type\": \"LORA\", \"r\": 8, \"x\": \"" + new string('x', 100) + "\"}");
        var e = Assert.Throws<InvalidAdapterException>(() => PeftAdapterConfig.Parse(bytes, "cfg.json", new PeftOptions { MaxConfigBytes = 64 }));
        Assert.Contains("at most 64", e.Message);
    }

    [Fact]
    public void Factors_ShapesDisagree_RefusedNamingModuleAndShapes()
    {
        var e = Refused(Config(4, 8, "", "[\"q_proj\"]"), Factors(4, bRank: 2));
        Assert.Contains("module 'q_proj'", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        Assert.Contains("[2, 2]", e.Message);
    }

    [Fact]
    public void Factors_RankDisagreesWithConfig_Refused()
    {
        var e = Refused(Config(8, 16, "", "[\"q_proj\"]"), Factors(4));
        Assert.Contains("config gives rank 8 but the factors have rank 4", e.Message);
    }

    [Fact]
    public void Factors_NotSelectedByTargetModules_Refused()
    {
        var e = Refused(Config(4, 8, "", "[\"v_proj\"]"), Factors(4));
        Assert.Contains("target_modules", e.Message);
    }

    [Fact]
    public void Factors_MissingB_Refused()
    {
        var tensors = new InMemoryTensorStore().Add(Prefix + "q_proj.lora_A.weight", new float[6], 2, 3);
        Assert.Contains("no lora_B", Refused(Config(2, 8, "", "[\"q_proj\"]"), tensors).Message);
    }

    [Fact]
    public void UnknownTensor_NotInModulesToSave_Refused()
    {
        var tensors = Factors(2).Add(Prefix + "lm_head.weight", new float[4], 2, 2);
        Assert.Contains("not in modules_to_save", Refused(Config(2, 8, "", "[\"q_proj\"]"), tensors).Message);
    }

    [Fact]
    public void TwoAdapterNames_Refused()
    {
        var tensors = new InMemoryTensorStore()
            .Add(Prefix + "q_proj.lora_A.one.weight", new float[6], 2, 3)
            .Add(Prefix + "q_proj.lora_B.two.weight", new float[4], 2, 2);
        Assert.Contains("2 adapters", Refused(Config(2, 8, "", "[\"q_proj\"]"), tensors).Message);
    }

    [Fact]
    public void Bind_ModuleMissingOrShapeMismatch_RefusedBeforeAnythingIsWritten()
    {
        string folder = LoraFixtures.Write(Config(2, 8, "", "[\"q_proj\"]"), Factors(2));
        using var adapter = PeftAdapter.Open(folder);
        var missing = Assert.Throws<InvalidAdapterException>(() => BoundAdapter.Bind(adapter, new InMemoryTensorStore().Add("k_proj.weight", new float[6], 2, 3)));
        Assert.Contains("module 'q_proj': not in the base model", missing.Message);
        var wrong = Assert.Throws<InvalidAdapterException>(() => BoundAdapter.Bind(adapter, new InMemoryTensorStore().Add("q_proj.weight", new float[8], 2, 4)));
        Assert.Contains("base weight 'q_proj.weight' is [2, 4]", wrong.Message);
        Assert.Contains("need [2, 3]", wrong.Message);

        // Through the one-call entry point: refused, and no output (not even the hidden staging folder) is left.
        string baseDir = Path.Combine(SharedData.TempFolder(), "base");
        Directory.CreateDirectory(baseDir);
        WeightSpace.Formats.Safetensors.SafetensorsWriter.Copy(new InMemoryTensorStore().Add("q_proj.weight", new float[8], 2, 4), Path.Combine(baseDir, "model.safetensors"));
        string output = Path.Combine(SharedData.TempFolder(), "out");
        Assert.Throws<InvalidAdapterException>(() => LoraApplication.Write(baseDir, [folder], [1.0], output, ct: TestContext.Current.CancellationToken));
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(output)!));
    }

    [Fact]
    public void BinWithPicklePayload_RefusedNothingExecuted()
    {
        string payload = SharedData.Require("torch/malicious/os_system_zip.pt");
        string folder = Path.Combine(SharedData.TempFolder(), "adapter");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), Config(8, 16));
        File.Copy(payload, Path.Combine(folder, "adapter_model.bin"));
        var e = Assert.Throws<UnsafePickleException>(() => PeftAdapter.Open(folder).Dispose());
        Assert.Equal("posix.system", e.Global);
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "WEIGHTSPACE_PWNED_*"));
        Assert.Empty(Directory.GetFiles(folder, "WEIGHTSPACE_PWNED_*"));
    }

    [Theory]
    [InlineData("base_model.model.model.layers.0.q_proj.lora_A.weight", "model.layers.0.q_proj", PeftTensorRole.LoraA, null)]
    [InlineData("base_model.model.model.layers.0.q_proj.lora_B.default.weight", "model.layers.0.q_proj", PeftTensorRole.LoraB, "default")]
    [InlineData("base_model.model.q_proj.lora_magnitude_vector", "q_proj", PeftTensorRole.Magnitude, null)]
    [InlineData("base_model.model.q_proj.lora_magnitude_vector.default.weight", "q_proj", PeftTensorRole.Magnitude, "default")]
    [InlineData("base_model.model.embed.lora_embedding_A", "embed", PeftTensorRole.EmbeddingA, null)]
    [InlineData("base_model.model.q_proj.base_layer.bias", "q_proj.bias", PeftTensorRole.Full, null)]
    [InlineData("base_model.model.lm_head.modules_to_save.default.weight", "lm_head.weight", PeftTensorRole.Full, "default")]
    [InlineData("base_model.model.lm_head.weight", "lm_head.weight", PeftTensorRole.Full, null)]
    public void TensorName_Parsed(string stored, string module, PeftTensorRole role, string? adapter)
    {
        var parsed = PeftTensorName.Parse(stored);
        Assert.NotNull(parsed);
        Assert.Equal((module, role, adapter), (parsed.Module, parsed.Role, parsed.AdapterName));
    }

    [Theory]
    [InlineData("lora_A.weight")]
    [InlineData("base_model.model.q.lora_A.x.y.weight")]
    [InlineData("base_model.model.q.lora_A")]
    [InlineData("base_model.model..lora_A.weight")]
    public void TensorName_Malformed_Null(string stored) => Assert.Null(PeftTensorName.Parse(stored));

    [Fact]
    public void Config_RandomMutations_OnlyTypedErrors()
    {
        byte[] valid = Encoding.UTF8.GetBytes(File.ReadAllText(SharedData.Require("llm/lora-python/adapter_config.json")));
        var random = new Random(15);
        var options = new PeftOptions { RegexTimeout = TimeSpan.FromMilliseconds(100) };
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (int k = random.Next(1, 6); k > 0; k--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try
            {
                var config = PeftAdapterConfig.Parse(bytes, "cfg.json", options);
                _ = (config.IsTargeted("model.layers.0.self_attn.q_proj"), config.ScaleOf("model.layers.0.self_attn.q_proj"));
            }
            catch (InvalidAdapterException) { }
        }
    }
}
