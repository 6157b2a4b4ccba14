using System.Text.Json.Nodes;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Tests.Analysis.Merging;

namespace WeightSpace.Tests.Cli;

/// <summary>mergekit users' recipes on the tiny Llama family in ../shared/data/llm: output metadata as mergekit's
/// run_merge writes it, model+lora inputs, mergekit-yaml's command line, mergekit-multi documents, --dry-run.</summary>
public sealed class MergekitCompatibilityTests
{
    private static string Llm(string name) => SharedData.Require($"llm/{name}");

    private static string Write(string dir, string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Dictionary<string, float[]> ReadAll(string path)
    {
        using var store = Checkpoint.Open(path);
        return store.Tensors.ToDictionary(t => t.Name, t => store.ReadSingle(t.Name));
    }

    private static JsonObject Json(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    [Fact]
    public void Passthrough_Stacking_RewritesConfigJson_WritesCardConfigAndChatTemplate()
    {
        string dir = SharedData.TempFolder();
        string yaml = $"""
            merge_method: passthrough
            out_dtype: float16
            chat_template: chatml
            slices:
              - sources:
                  - model: "{Llm("base")}"
                    layer_range: [0, 4]
              - sources:
                  - model: "{Llm("ft-python")}"
                    layer_range: [2, 4]
            """;
        string config = Write(dir, "stack.yml", yaml);
        string output = Path.Combine(dir, "stacked");
        var r = CliRunner.Run("merge", config, output);
        Assert.True(r.ExitCode == 0, r.Stderr);

        // mergekit's _model_out_config: layer count = Σ slice lengths (4 + 2), torch_dtype from out_dtype; the rest is the donor's.
        var cfg = Json(Path.Combine(output, "config.json"));
        Assert.Equal(6, (int)cfg["num_hidden_layers"]!);
        Assert.Equal("float16", (string)cfg["torch_dtype"]!);
        Assert.Equal(256, (int)cfg["vocab_size"]!);
        Assert.Equal("LlamaForCausalLM", (string)cfg["architectures"]![0]!);
        using (var merged = Checkpoint.Open(output))
        using (var python = Checkpoint.Open(Llm("ft-python")))
        {
            Assert.Equal(6, merged.Tensors.Count(t => t.Name.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal)));
            Assert.Equal(DType.F16, merged.GetInfo("model.layers.5.mlp.down_proj.weight").DType);
            Assert.Equal(python.ReadSingle("model.layers.3.mlp.down_proj.weight").Select(x => (float)(Half)x),
                merged.ReadSingle("model.layers.5.mlp.down_proj.weight"));
        }
        // The card and the config as run, as mergekit writes them with --write-model-card (its default).
        Assert.Equal(yaml, File.ReadAllText(Path.Combine(output, "mergekit_config.yml")));
        string card = File.ReadAllText(Path.Combine(output, "README.md"));
        Assert.StartsWith("---\nbase_model: []\nlibrary_name: transformers\ntags:\n- mergekit\n- merge\n", card);
        Assert.Contains("# stacked", card);
        Assert.Contains("[passthrough]", card);
        Assert.Contains(yaml.TrimEnd(), card);
        // chat_template: chatml lands in tokenizer_config.json; the other tokenizer files are the donor's.
        Assert.Equal(ChatTemplates.Get("chatml"), (string)Json(Path.Combine(output, "tokenizer_config.json"))["chat_template"]!);
        Assert.Equal(File.ReadAllText(Path.Combine(Llm("base"), "tokenizer.json")), File.ReadAllText(Path.Combine(output, "tokenizer.json")));
    }

    [Fact]
    public void ModelPlusLora_LinearWeightOne_IsExactlyTheLoraMergedModel()
    {
        // mergekit merges the LoRA into the model first (PEFT merge_and_unload, saved in the model's dtype); a linear merge
        // of that one model with weight 1 is that model: here bit for bit what `lora apply` writes for base + lora-python.
        string dir = SharedData.TempFolder();
        string config = Write(dir, "lora.yml", $"""
            merge_method: linear
            models:
              - model: "{Llm("base")}+{Llm("lora-python")}"
                parameters:
                  weight: 1.0
            """);
        var r = CliRunner.Run("merge", config, Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        WeightSpace.Analysis.Lora.LoraApplication.Write(Llm("base"), [Llm("lora-python")], [1.0], Path.Combine(dir, "applied"), ct: TestContext.Current.CancellationToken);
        using var merged = Checkpoint.Open(Path.Combine(dir, "out"));
        using var applied = Checkpoint.Open(Path.Combine(dir, "applied"));
        Assert.Equal(applied.Tensors.Select(t => t.Name).Order(), merged.Tensors.Select(t => t.Name).Order());
        foreach (var info in applied.Tensors)
        {
            using var a = applied.Read(info.Name);
            using var m = merged.Read(info.Name);
            Assert.Equal(info.DType, m.Info.DType);
            Assert.True(a.Bytes.SequenceEqual(m.Bytes), $"{info.Name} differs");
        }
        using var baseStore = Checkpoint.Open(Llm("base"));
        Assert.NotEqual(baseStore.ReadSingle("model.layers.0.self_attn.q_proj.weight"), merged.ReadSingle("model.layers.0.self_attn.q_proj.weight"));
    }

    [Fact]
    public void ModelPlusLora_IsWithinOneBf16UlpOfThePyTorchMergedModel()
    {
        // lora-python-merged is BF16(float32(W_bf16) + 2·B·A) from PyTorch; our float32 product differs in the last bits
        // of some elements, so after rounding an element may be one BF16 ulp away, never more.
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("merge", "--method", "linear", "--models", $"{Llm("base")}+{Llm("lora-python")}", "-o", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var merged = Checkpoint.Open(Path.Combine(dir, "out"));
        using var expected = Checkpoint.Open(Llm("lora-python-merged"));
        foreach (var info in expected.Tensors)
        {
            using var a = merged.Read(info.Name);
            using var b = expected.Read(info.Name);
            var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(a.Bytes);
            var y = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(b.Bytes);
            for (int i = 0; i < x.Length; i++)
                Assert.True(x[i] == y[i] || ((x[i] & 0x8000) == (y[i] & 0x8000) && Math.Abs(x[i] - y[i]) == 1), $"{info.Name}[{i}]: 0x{x[i]:X4} vs 0x{y[i]:X4}");
        }
    }

    [Fact]
    public void MergekitYamlFlags_AreAcceptedWithMeaningOrANote()
    {
        string dir = SharedData.TempFolder();
        string config = Write(dir, "c.yml", $"""
            merge_method: linear
            models:
              - model: "{Llm("ft-prose")}"
                parameters: {"{"}weight: 1{"}"}
              - model: "{Llm("ft-c")}"
                parameters: {"{"}weight: 1{"}"}
            """);
        var r = CliRunner.Run("merge", config, Path.Combine(dir, "a"), "--cuda", "--lazy-unpickle", "--trust-remote-code", "--low-cpu-memory",
            "--clone-tensors", "--out-shard-size", "5B", "--no-write-model-card", "--random-seed", "3", "--num-threads", "1", "--copy-tokenizer");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("note: --cuda:", r.Stderr);
        Assert.Contains("note: --lazy-unpickle:", r.Stderr);
        var files = Directory.EnumerateFiles(Path.Combine(dir, "a")).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain("README.md", files);
        Assert.DoesNotContain("mergekit_config.yml", files);
        Assert.Contains("tokenizer.json", files);
        Assert.Contains("model.safetensors", files);   // 5B = 5·10⁹ bytes: one file

        r = CliRunner.Run("merge", config, Path.Combine(dir, "b"), "--no-copy-tokenizer", "--out-shard-size", "2MB");
        Assert.True(r.ExitCode == 0, r.Stderr);
        files = Directory.EnumerateFiles(Path.Combine(dir, "b")).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain("tokenizer.json", files);
        Assert.Contains("model.safetensors.index.json", files);
        Assert.Contains("README.md", files);
        Assert.Equal(ReadAll(Path.Combine(dir, "a")).OrderBy(p => p.Key).SelectMany(p => p.Value), ReadAll(Path.Combine(dir, "b")).OrderBy(p => p.Key).SelectMany(p => p.Value));
    }

    [Fact]
    public void MultiDocument_RunsNamedMergesFirstAndFeedsThemByName()
    {
        string dir = SharedData.TempFolder();
        string config = Write(dir, "multi.yml", $"""
            merge_method: linear
            out_dtype: float32
            models:
              - model: mid
                parameters: {"{"}weight: 1{"}"}
              - model: "{Llm("ft-c")}"
                parameters: {"{"}weight: 1{"}"}
            ---
            name: mid
            merge_method: linear
            out_dtype: float32
            models:
              - model: "{Llm("ft-prose")}"
                parameters: {"{"}weight: 1{"}"}
              - model: "{Llm("ft-python")}"
                parameters: {"{"}weight: 1{"}"}
            """);
        string output = Path.Combine(dir, "final");
        var r = CliRunner.Run("merge", config, output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("name: mid", File.ReadAllText(Path.Combine(output + ".intermediate", "mid", "mergekit_config.yml")));
        var prose = ReadAll(Llm("ft-prose"));
        var python = ReadAll(Llm("ft-python"));
        var c = ReadAll(Llm("ft-c"));
        var final = ReadAll(output);
        foreach (var (name, values) in final)
            for (int i = 0; i < values.Length; i++)
            {
                float mid = 0.5f * prose[name][i] + 0.5f * python[name][i];
                float expected = 0.5f * mid + 0.5f * c[name][i];
                Assert.True(MathF.Abs(expected - values[i]) <= 1e-6f * MathF.Max(1, MathF.Abs(expected)), $"{name}[{i}]: {values[i]} vs {expected}");
            }
        // Lazy by default: a second run reuses the intermediate merge and says so.
        r = CliRunner.Run("merge", config, Path.Combine(dir, "final2"), "-I", output + ".intermediate");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("'mid' exists", r.Stderr);
    }

    [Fact]
    public void DryRun_PrintsThePlanAndWritesNothing_Exit1OnAProblem()
    {
        string dir = SharedData.TempFolder();
        string config = Write(dir, "d.yml", $"""
            merge_method: ties
            base_model: "{Llm("base")}"
            models:
              - model: "{Llm("ft-prose")}"
                parameters: {"{"}weight: 1, density: 0.5{"}"}
              - model: "{Llm("ft-python")}"
                parameters: {"{"}weight: 1, density: 0.5{"}"}
            """);
        var r = CliRunner.Run("merge", config, Path.Combine(dir, "out"), "--dry-run");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("dry run: ties", r.Stdout);
        Assert.Contains("4 layers, 39 tensors", r.Stdout);
        Assert.Contains("config.json", r.Stdout);
        Assert.Equal(["d.yml"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));

        string bad = Write(dir, "bad.yml", $"""
            merge_method: passthrough
            slices:
              - sources:
                  - model: "{Llm("base")}"
                    layer_range: [0, 9]
            """);
        r = CliRunner.Run("merge", bad, Path.Combine(dir, "out"), "--dry-run");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("layer_range", r.Stderr);
        Assert.Equal(["bad.yml", "d.yml"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DifferentArchitectures_AreRefusedUnlessAllowCrimes()
    {
        string other = SharedData.CopyFolder(Llm("ft-prose"), "other");
        string dir = Path.GetDirectoryName(other)!;
        var cfg = Json(Path.Combine(other, "config.json"));
        cfg["architectures"] = new JsonArray("MistralForCausalLM");
        File.WriteAllText(Path.Combine(other, "config.json"), cfg.ToJsonString());
        string[] args = ["merge", "--method", "linear", "--models", Llm("base"), other];
        var r = CliRunner.Run([.. args, "-o", Path.Combine(dir, "a")]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--allow-crimes", r.Stderr);
        Assert.Equal(0, CliRunner.Run([.. args, "-o", Path.Combine(dir, "b"), "--allow-crimes"]).ExitCode);
    }

    [Fact]
    public void ChatTemplateAuto_TakesThePluralityOfTheInputsTemplates()
    {
        string dir = SharedData.TempFolder();
        string Model(string name, string? template)
        {
            string folder = Path.Combine(dir, name);
            Directory.CreateDirectory(folder);
            SafetensorsWriter.Copy(FakeModels.Decoder(name, 2, name.Length), Path.Combine(folder, "model.safetensors"));
            File.WriteAllText(Path.Combine(folder, "config.json"), """{"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2}""");
            var tok = new JsonObject { ["tokenizer_class"] = "PreTrainedTokenizerFast" };
            if (template is not null) tok["chat_template"] = template;
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), tok.ToJsonString());
            return folder;
        }
        const string shared = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
        string a = Model("a", "{% for m in messages %}[{{ m['role'] }}]{% endfor %}"), b = Model("bb", shared), c = Model("ccc", shared), d = Model("dddd", null);
        string config = Write(dir, "auto.yml", $"merge_method: linear\nchat_template: auto\nmodels:\n  - model: {a}\n  - model: {b}\n  - model: {c}\n  - model: {d}\nparameters: {{weight: 1}}\n");
        var r = CliRunner.Run("merge", config, Path.Combine(dir, "out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(shared, (string)Json(Path.Combine(dir, "out", "tokenizer_config.json"))["chat_template"]!);
    }

    [Fact]
    public void HubIds_WithAdapterAndRevision_ResolveFromTheTransformersCache()
    {
        // A Hugging Face cache laid out as huggingface_hub does: models--ORG--NAME/refs/main → snapshots/HASH.
        string cache = Path.Combine(SharedData.TempFolder(), "hub");
        void Cache(string repo, string folder, string commit)
        {
            string root = Path.Combine(cache, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));
            string snapshot = Path.Combine(root, "snapshots", commit);
            Directory.CreateDirectory(snapshot);
            Directory.CreateDirectory(Path.Combine(root, "refs"));
            File.WriteAllText(Path.Combine(root, "refs", "main"), commit);
            foreach (string f in Directory.EnumerateFiles(folder)) File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
        }
        Cache("tiny/base", Llm("base"), new string('a', 40));
        Cache("tiny/lora-python", Llm("lora-python"), new string('b', 40));
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("merge", "--method", "linear", "--models", "tiny/base@" + new string('a', 40) + "+tiny/lora-python",
            "-o", Path.Combine(dir, "hub"), "--transformers-cache", cache);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(0, CliRunner.Run("merge", "--method", "linear", "--models", $"{Llm("base")}+{Llm("lora-python")}", "-o", Path.Combine(dir, "local")).ExitCode);
        Assert.Equal(ReadAll(Path.Combine(dir, "local")).OrderBy(p => p.Key).SelectMany(p => p.Value), ReadAll(Path.Combine(dir, "hub")).OrderBy(p => p.Key).SelectMany(p => p.Value));
        // The card lists hub ids in its front matter and links them, as mergekit's card does.
        string card = File.ReadAllText(Path.Combine(dir, "hub", "README.md"));
        Assert.Contains("base_model:\n- tiny/base\n- tiny/lora-python\n", card);
        Assert.Contains("(https://huggingface.co/tiny/base)", card);
        // Not cached: one line saying where it looked.
        r = CliRunner.Run("merge", "--method", "linear", "--models", "tiny/missing+tiny/lora-python", "-o", Path.Combine(dir, "no"), "--transformers-cache", cache);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("tiny/missing", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "no")));
    }
}
