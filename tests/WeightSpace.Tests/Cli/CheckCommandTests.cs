using System.Text.Json;
using System.Text.Json.Nodes;
using WeightSpace.Formats.Integrity;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Cli;

/// <summary><c>weightspace check</c>: the preflight from headers and configs (issue 14 item 6).</summary>
public sealed class CheckCommandTests
{
    private static string Llm(string name) => Path.GetDirectoryName(SharedData.Require($"llm/{name}/model.safetensors"))!;

    private static JsonElement Json(CliRunner.Result r) => JsonDocument.Parse(r.Stdout).RootElement;

    private static JsonElement Model(JsonElement root, int i) => root.GetProperty("models")[i];

    private static string[] Messages(JsonElement root) =>
        [.. root.GetProperty("models").EnumerateArray().SelectMany(m => m.GetProperty("findings").EnumerateArray())
            .Concat(root.GetProperty("findings").EnumerateArray()).Select(f => f.GetProperty("severity").GetString() + ": " + f.GetProperty("message").GetString())];

    // A Llama-named toy model of 3 blocks written as shards of at most one block's bytes.
    private static string ShardedModel(string dir, int hidden = 8)
    {
        var store = new InMemoryTensorStore();
        store.Add("model.embed_tokens.weight", new float[16 * hidden], 16, hidden);
        for (int l = 0; l < 3; l++)
        {
            store.Add($"model.layers.{l}.self_attn.q_proj.weight", new float[hidden * hidden], hidden, hidden);
            store.Add($"model.layers.{l}.mlp.gate_proj.weight", new float[2 * hidden * hidden], 2 * hidden, hidden);
        }
        store.Add("lm_head.weight", new float[16 * hidden], 16, hidden);
        string folder = Path.Combine(dir, "sharded");
        SafetensorsWriter.Copy(store, folder, new SafetensorsWriteOptions { ShardSizeBytes = 3 * hidden * hidden * 4 });
        return folder;
    }

    [Fact]
    public void LlmFamily_ConfigAndTensorsAgree_ReportsTheirShape_Exit0()
    {
        var r = CliRunner.Run("check", Llm("base"), Llm("ft-python"), "--json");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var root = Json(r);
        Assert.True(root.GetProperty("ok").GetBoolean());
        var m = Model(root, 0);
        Assert.Equal("LlamaForCausalLM", m.GetProperty("architecture").GetString());
        // The values ../shared/data/llm/base/config.json gives, found again in the tensors.
        Assert.Equal(4, m.GetProperty("layers").GetProperty("config").GetInt32());
        Assert.Equal(4, m.GetProperty("layers").GetProperty("tensors").GetInt32());
        Assert.Equal(256, m.GetProperty("hidden_size").GetProperty("tensors").GetInt32());
        Assert.Equal(768, m.GetProperty("intermediate_size").GetProperty("tensors").GetInt32());
        Assert.Equal(256, m.GetProperty("vocab_size").GetProperty("tensors").GetInt32());
        Assert.Equal(256, m.GetProperty("tokenizer_vocabulary").GetInt32());
        Assert.Equal(8, m.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(2, m.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(39, m.GetProperty("dtypes").GetProperty("bf16").GetInt32());
        Assert.False(m.GetProperty("tie_word_embeddings").GetProperty("tensors").GetBoolean());
        Assert.Empty(Messages(root));
    }

    [Fact]
    public void AnAdapterFolder_IsValidatedAndNamedAsOne_AndABrokenOneIsAnError()
    {
        // Before: its factor tensors were checked as a model ("?" for every size) and the check said ok.
        string adapter = SharedData.Require("llm/lora-python");
        var r = CliRunner.Run("check", adapter, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        string message = Assert.Single(Messages(Json(r)));
        Assert.StartsWith("warning: a PEFT adapter (r 8, lora_alpha 16, 28 LoRA modules", message);
        Assert.Contains("trained on 'tinyllama-base'", message);
        Assert.Contains("check BASE+", message);
        string broken = SharedData.TempFolder();
        File.WriteAllText(Path.Combine(broken, "adapter_config.json"), """{"peft_type": "LORA", "r": 0, "lora_alpha": 16, "target_modules": ["q_proj"]}""");
        var bad = CliRunner.Run("check", broken, "--json");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains(Messages(Json(bad)), m => m.StartsWith("error:") && m.Contains("'r'"));
    }

    [Fact]
    public void QuantisedGguf_BesideAStrayConfig_ChecksItsOwnMetadata_WithoutATorchDTypeWarning()
    {
        // A GGUF states no torch_dtype (its synthesised config says float32), and a config.json that happens to sit beside
        // the .gguf (here a BERT's) is not its config: check reads the GGUF's metadata and is clean.
        string dir = SharedData.TempFolder(), gguf = Path.Combine(dir, "base-q8_0.gguf");
        WeightSpace.Formats.Gguf.GgufHfImport.Write(Llm("base-f32"), gguf, DType.Q8_0);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12}""");
        var r = CliRunner.Run("check", gguf, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        var root = Json(r);
        Assert.Empty(Messages(root));
        Assert.Equal(4, Model(root, 0).GetProperty("layers").GetProperty("config").GetInt32());
        Assert.Equal(256, Model(root, 0).GetProperty("hidden_size").GetProperty("config").GetInt32());
        Assert.Equal(JsonValueKind.Null, Model(root, 0).GetProperty("folder").ValueKind);   // its files are its metadata
    }

    [Fact]
    public void ConfigThatDisagreesWithTheTensors_NamesEveryMismatch_Exit1()
    {
        string model = SharedData.CopyFolder(Llm("base"), "edited");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!.AsObject();
        config["num_hidden_layers"] = 6;          // tensors hold 4 blocks
        config["vocab_size"] = 300;               // embedding has 256 rows
        config["num_key_value_heads"] = 4;        // k_proj has 2 × 32 rows
        config["torch_dtype"] = "float32";        // stored as bf16
        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());

        var r = CliRunner.Run("check", model, "--json");
        Assert.Equal(1, r.ExitCode);
        var messages = Messages(Json(r));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("num_hidden_layers = 6") && m.Contains("4 blocks"));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("vocab_size = 300") && m.Contains("256 rows"));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("k_proj") && m.Contains("4 × 32 = 128"));
        Assert.Contains(messages, m => m.StartsWith("warning:") && m.Contains("torch_dtype is float32") && m.Contains("bf16"));
        Assert.Equal(4, messages.Length);
        var text = CliRunner.Run("check", model);
        Assert.Equal(1, text.ExitCode);
        Assert.Contains("3 error(s), 1 warning(s)", text.Stdout);
    }

    [Fact]
    public void ConsistentShards_AreReportedConsistent()
    {
        string model = ShardedModel(SharedData.TempFolder());
        var r = CliRunner.Run("check", model, "--json");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var index = Json(r).GetProperty("shard_indexes")[0];
        Assert.True(index.GetProperty("consistent").GetBoolean());
        Assert.True(index.GetProperty("shards").GetInt32() >= 3);
        Assert.Equal(8, index.GetProperty("indexed_tensors").GetInt32());
    }

    [Fact]
    public void InconsistentShardIndex_ListsEveryProblem_NotOnlyTheFirst_Exit1()
    {
        string model = ShardedModel(SharedData.TempFolder());
        string indexPath = Path.Combine(model, "model.safetensors.index.json");
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!.AsObject();
        var map = index["weight_map"]!.AsObject();
        string shardOfLayer0 = map["model.layers.0.self_attn.q_proj.weight"]!.GetValue<string>();
        string shardOfLayer2 = map["model.layers.2.self_attn.q_proj.weight"]!.GetValue<string>();
        Assert.NotEqual(shardOfLayer0, shardOfLayer2);
        map["model.layers.0.self_attn.q_proj.weight"] = shardOfLayer2;     // listed in the wrong shard
        map.Remove("model.layers.1.mlp.gate_proj.weight");                 // in a shard, not in the index
        map["model.layers.9.mlp.up_proj.weight"] = shardOfLayer0;          // in the index, in no shard
        index["metadata"]!["total_size"] = 12;
        File.WriteAllText(indexPath, index.ToJsonString());
        File.Copy(Path.Combine(model, shardOfLayer0), Path.Combine(model, "stray.safetensors"));

        var audit = ShardIndexAudit.Audit(indexPath);
        Assert.False(audit.Ok);
        var r = CliRunner.Run("check", model, "--json");
        Assert.Equal(1, r.ExitCode);
        var messages = Messages(Json(r));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("model.layers.0.self_attn.q_proj.weight") && m.Contains($"puts it in shard '{shardOfLayer2}'"));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("model.layers.1.mlp.gate_proj.weight") && m.Contains("not listed in the index"));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("model.layers.9.mlp.up_proj.weight") && m.Contains("does not hold it"));
        Assert.Contains(messages, m => m.StartsWith("warning:") && m.Contains("total_size is 12"));
        Assert.Contains(messages, m => m.StartsWith("warning:") && m.Contains("stray.safetensors") && m.Contains("not named by it"));
        Assert.Equal(audit.Findings.Count, messages.Length);

        File.Delete(Path.Combine(model, shardOfLayer2));
        messages = Messages(Json(CliRunner.Run("check", model, "--json")));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains($"shard '{shardOfLayer2}'") && m.Contains("does not exist"));
    }

    [Fact]
    public void ModelsThatCannotBeUsedTogether_AreNamed()
    {
        string dir = SharedData.TempFolder();
        string a = ShardedModel(Directory.CreateDirectory(Path.Combine(dir, "a")).FullName);
        string b = ShardedModel(Directory.CreateDirectory(Path.Combine(dir, "b")).FullName, hidden: 4);
        var r = CliRunner.Run("check", a, b, "--json");
        Assert.Equal(1, r.ExitCode);
        var messages = Messages(Json(r));
        Assert.Contains(messages, m => m.StartsWith("error:") && m.Contains("model.layers.0.self_attn.q_proj.weight") && m.Contains("shape [4, 4] vs base [8, 8]"));
    }

    [Fact]
    public void Config_IsCheckedWithTheMergePlanning_AndItsModels()
    {
        string dir = SharedData.TempFolder();
        string good = Path.Combine(dir, "ties.yml");
        File.WriteAllText(good, $"""
            merge_method: ties
            base_model: "{Llm("base")}"
            models:
              - model: "{Llm("ft-prose")}"
                parameters: {"{"}weight: 1, density: 0.5{"}"}
              - model: "{Llm("ft-python")}"
                parameters: {"{"}weight: 1, density: 0.5{"}"}
            """);
        var r = CliRunner.Run("check", "--config", good, "--json");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var root = Json(r);
        Assert.Equal(3, root.GetProperty("models").GetArrayLength());
        var config = root.GetProperty("config");
        Assert.True(config.GetProperty("can_run").GetBoolean());
        Assert.Equal(39, config.GetProperty("plan").GetProperty("tensors").GetInt32());
        Assert.Equal(["ties.yml"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));

        string bad = Path.Combine(dir, "bad.yml");
        File.WriteAllText(bad, $"""
            merge_method: passthrough
            slices:
              - sources:
                  - model: "{Llm("base")}"
                    layer_range: [0, 9]
            """);
        r = CliRunner.Run("check", "--config", bad);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("cannot run", r.Stdout);
        Assert.Contains("layer_range", r.Stdout);
        Assert.Equal(["bad.yml", "ties.yml"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void NothingToCheck_IsAUsageError_AndAMissingModelIsNamed()
    {
        Assert.Equal(2, CliRunner.Run("check").ExitCode);
        string missing = Path.Combine(SharedData.TempFolder(), "nope");
        var r = CliRunner.Run("check", missing);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(missing, r.Stdout);
    }
}
