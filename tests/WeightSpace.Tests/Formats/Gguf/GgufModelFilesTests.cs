using System.Text.Json.Nodes;
using WeightSpace.Analysis.Language;
using WeightSpace.Formats.Gguf;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Tests.Analysis.Language;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>Outputs written from a GGUF input (merge, lora apply) are Hugging Face folders: config.json and tokenizer.json
/// come from the GGUF's metadata (as <c>convert x.gguf DIR/</c> writes them), never from files beside the .gguf.</summary>
public sealed class GgufModelFilesTests
{
    private static readonly LanguageModelEvaluationOptions Quick = TinyLlama.Quick(4);

    /// <summary>base-f32 as an F32 GGUF, in a folder that also holds an unrelated config.json (a BERT's).</summary>
    private static string GgufBesideADecoy()
    {
        string dir = SharedData.TempFolder();
        string gguf = Path.Combine(dir, "base.gguf");
        GgufHfImport.Write(SharedData.RequireModel("llm/base-f32"), gguf, DType.F32);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "bert", "hidden_size": 768}""");
        return gguf;
    }

    private static JsonObject Config(string folder) => JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();

    private static TextScore Score(string model, string text) =>
        LanguageModelEvaluation.Evaluate(model, [text], Quick, null, TestContext.Current.CancellationToken).Texts[0];

    [Fact]
    public void LoraApply_OnAGgufBase_WritesAFolderThatScoresAsPeftsMergedModel()
    {
        string gguf = GgufBesideADecoy();
        string output = Path.Combine(SharedData.TempFolder(), "merged");
        var run = CliRunner.Run("lora", "apply", gguf, SharedData.Require("llm/lora-python"), "-o", output);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var config = Config(output);
        Assert.Equal("llama", config["model_type"]!.GetValue<string>());
        Assert.Equal(256, config["hidden_size"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));

        // The same apply from the Hugging Face folder the GGUF came from: the same float32 tensors, bit for bit, and so the
        // same score; PEFT's merged model (BF16, merged on the BF16 base) scores within its rounding.
        string fromFolder = Path.Combine(SharedData.TempFolder(), "from-folder");
        var reference = CliRunner.Run("lora", "apply", SharedData.RequireModel("llm/base-f32"), SharedData.Require("llm/lora-python"), "-o", fromFolder, "--dtype", "f32");
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        using (var a = WeightSpace.Formats.Checkpoint.Open(output))
        using (var b = WeightSpace.Formats.Checkpoint.Open(fromFolder))
        {
            Assert.Equal(b.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), a.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            foreach (var t in b.Tensors) Assert.Equal(b.ReadSingle(t.Name), a.ReadSingle(t.Name));
        }
        string text = SharedData.Require("llm/eval/python.txt");
        var ours = Score(output, text);
        Assert.Equal(Score(fromFolder, text).NllPerToken, ours.NllPerToken);
        var peft = Score(Path.GetDirectoryName(SharedData.Require("llm/lora-python-merged/pytorch_model.bin"))!, text);
        Assert.Equal(peft.Tokens, ours.Tokens);
        Assert.Equal(peft.NllPerToken, ours.NllPerToken, 1e-3);
    }

    [Fact]
    public void Merge_WithAGgufInput_TakesConfigAndTokenizerFromItsMetadata_AndScoresAsTheFolderItCameFrom()
    {
        string gguf = GgufBesideADecoy();
        string folder = SharedData.RequireModel("llm/base-f32");
        string output = Path.Combine(SharedData.TempFolder(), "merged");
        // The GGUF is the donor (first model); both inputs hold the same weights, so the linear merge is base-f32 again.
        var run = CliRunner.Run("merge", "--method", "linear", "--models", gguf, folder, "-o", output);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var config = Config(output);
        Assert.Equal("llama", config["model_type"]!.GetValue<string>());
        foreach (string key in new[] { "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size" })
            Assert.Equal(Config(folder)[key]!.GetValue<long>(), config[key]!.GetValue<long>());
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(output, "mergekit_config.yml")));

        string text = SharedData.Require("llm/eval/prose.txt");
        var merged = Score(output, text);
        var original = Score(folder, text);
        Assert.Equal(original.Tokens, merged.Tokens);
        Assert.Equal(original.NllPerToken, merged.NllPerToken);
    }

    [Fact]
    public void ModelFiles_OfAGguf_IsASynthesisedFolderDeletedOnDispose_AndOfAnotherStoreItsOwnFolder()
    {
        string gguf = GgufBesideADecoy();
        using (var store = WeightSpace.Formats.Checkpoint.Open(gguf))
        {
            string folder;
            using (var files = ModelFiles.Of(store, gguf))
            {
                Assert.True(files.Synthesized);
                folder = files.Folder;
                Assert.NotEqual(Path.GetDirectoryName(gguf), folder);
                Assert.Equal(GgufHfExport.ConfigJsonOf((GgufStore)store), File.ReadAllText(Path.Combine(folder, "config.json")));
                Assert.Equal(GgufHfExport.TokenizerJsonOf((GgufStore)store, out _), File.ReadAllText(Path.Combine(folder, "tokenizer.json")));
            }
            Assert.False(Directory.Exists(folder));
        }
        string safetensors = SharedData.RequireModel("llm/base-f32");
        using var hf = WeightSpace.Formats.Checkpoint.Open(safetensors);
        using var own = ModelFiles.Of(hf, safetensors);
        Assert.False(own.Synthesized);
        Assert.Equal(safetensors, own.Folder);
        Assert.Null(GgufSidecarFolder.TryCreate(hf));
    }

    [Fact]
    public void Neurons_OfAGguf_ShowTheTokensOfItsMetadata_AsTheFolderItCameFrom()
    {
        // Before the GGUF vocabulary was read, a .gguf's neurons printed ids ('#101') for want of a tokenizer.json beside it.
        string gguf = GgufBesideADecoy();
        var fromGguf = CliRunner.Run("neurons", gguf, "--top", "2", "--json");
        var fromFolder = CliRunner.Run("neurons", SharedData.RequireModel("llm/base-f32"), "--top", "2", "--json");
        Assert.True(fromGguf.ExitCode == 0, fromGguf.Stderr);
        Assert.True(fromFolder.ExitCode == 0, fromFolder.Stderr);
        static List<string> Tokens(string json) => [.. JsonNode.Parse(json)!["layers"]!.AsArray()
            .SelectMany(l => l!["neurons"]!.AsArray()).SelectMany(n => n!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()))];
        var tokens = Tokens(fromGguf.Stdout);
        Assert.Equal(4 * 768 * 2, tokens.Count);
        Assert.Equal(Tokens(fromFolder.Stdout), tokens);
        Assert.DoesNotContain(tokens, t => System.Text.RegularExpressions.Regex.IsMatch(t, @"^#\d+$"));   // '#' itself is a token
    }

    [Fact]
    public void MergeAndLoraApply_OfAGgufWhoseTokenizerIsNotMapped_SayTheOutputHasNoTokenizerJson()
    {
        // tokenizer.ggml.model 'gpt2' patched to 'bert' (same length): config.json is still synthesised, tokenizer.json
        // cannot be, and the merge says so instead of silently writing a model without a tokenizer.
        string gguf = GgufBesideADecoy();
        byte[] bytes = File.ReadAllBytes(gguf);
        byte[] key = System.Text.Encoding.UTF8.GetBytes("tokenizer.ggml.model");
        int at = bytes.AsSpan().IndexOf(key) + key.Length + 4 + 8;   // key, u32 type, u64 length, then the value
        Assert.Equal("gpt2", System.Text.Encoding.UTF8.GetString(bytes, at, 4));
        System.Text.Encoding.UTF8.GetBytes("bert").CopyTo(bytes, at);
        File.WriteAllBytes(gguf, bytes);
        string output = Path.Combine(SharedData.TempFolder(), "merged");
        var r = CliRunner.Run("merge", "--method", "linear", "--models", gguf, SharedData.RequireModel("llm/base-f32"), "-o", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains(r.Stderr.Split('\n'), l => l.StartsWith("note: ", StringComparison.Ordinal) && l.Contains("no tokenizer.json", StringComparison.Ordinal) && l.Contains("bert", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
        Assert.False(File.Exists(Path.Combine(output, "tokenizer.json")));
        var apply = CliRunner.Run("lora", "apply", gguf, SharedData.Require("llm/lora-python"), "-o", Path.Combine(SharedData.TempFolder(), "applied"));
        Assert.True(apply.ExitCode == 0, apply.Stderr);
        Assert.Contains(apply.Stderr.Split('\n'), l => l.StartsWith("note: ", StringComparison.Ordinal) && l.Contains("no tokenizer.json", StringComparison.Ordinal));
    }
}
