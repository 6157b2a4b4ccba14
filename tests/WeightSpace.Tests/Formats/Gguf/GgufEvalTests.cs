using WeightSpace.Analysis.Language;
using WeightSpace.Analysis.Outliers;
using WeightSpace.Analysis.Similarity;
using WeightSpace.Formats.Gguf;
using WeightSpace.Tests.Analysis.Language;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary><c>eval model.gguf</c>: config and tokenizer from the GGUF metadata, quantised weights dequantised.</summary>
public sealed class GgufEvalTests
{
    private static readonly LanguageModelEvaluationOptions Quick = TinyLlama.Quick(4);

    [Fact]
    public void GgufWeWrote_ScoresExactlyAsTheHfFolderItCameFrom()
    {
        string folder = SharedData.Require("llm/base-f32");
        string text = SharedData.Require("llm/eval/python.txt");
        string gguf = Path.Combine(SharedData.TempFolder(), "base.gguf");
        GgufHfImport.Write(folder, gguf, DType.F32);
        var a = LanguageModelEvaluation.Evaluate(folder, [text], Quick, null, TestContext.Current.CancellationToken).Texts[0];
        var b = LanguageModelEvaluation.Evaluate(gguf, [text], Quick, null, TestContext.Current.CancellationToken).Texts[0];
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.NllPerToken, b.NllPerToken);   // same weights bit for bit after un-permutation, same tokenizer ids
    }

    [Fact]
    public void QuantisedSharedGguf_Evaluates_AndANonGpt2TokenizerIsRefusedByName()
    {
        string text = SharedData.Require("llm/eval/prose.txt");
        var score = LanguageModelEvaluation.Evaluate(SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf"), [text], Quick, null, TestContext.Current.CancellationToken).Texts[0];
        // Seeded-random weights: the model is close to uniform over 256 bytes, NLL near ln 256 = 5.545.
        Assert.InRange(score.NllPerToken, 5.3, 5.8);
        var cli = CliRunner.Run("eval", SharedData.Require("gguf/tinyllama/tinyllama-q8_0.gguf"), "--text", text, "--max-windows", "2", "--threads", "1");
        Assert.Equal(0, cli.ExitCode);
        var bad = CliRunner.Run("eval", SharedData.Require("gguf/synthetic/plain-types.gguf"), "--text", text, "--max-windows", "1");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("plain-types.gguf", bad.Stderr, StringComparison.Ordinal);
    }
}

/// <summary><c>lora apply base.gguf adapter</c>: a quantised GGUF base is merged in float32.</summary>
public sealed class GgufLoraTests
{
    [Fact]
    public void LoraApply_OnAQ8_0Gguf_WritesF32_WithTheDequantisedBaseWhereNoModuleApplies()
    {
        string gguf = Path.Combine(SharedData.TempFolder(), "base-q8_0.gguf");
        GgufHfImport.Write(SharedData.Require("llm/base-f32"), gguf, DType.Q8_0);
        string output = Path.Combine(SharedData.TempFolder(), "merged");
        var run = CliRunner.Run("lora", "apply", gguf, SharedData.Require("llm/lora-python"), "-o", output);
        Assert.True(run.ExitCode == 0, run.Stderr);
        using var merged = WeightSpace.Formats.Checkpoint.Open(output);
        using var source = GgufReader.Open(gguf);
        Assert.All(merged.Tensors, t => Assert.Equal(DType.F32, t.DType));
        Assert.Equal(source.ReadSingle("lm_head.weight"), merged.ReadSingle("lm_head.weight"));
        Assert.NotEqual(source.ReadSingle("model.layers.0.self_attn.q_proj.weight"), merged.ReadSingle("model.layers.0.self_attn.q_proj.weight"));
    }

    [Fact]
    public void AdapterOnAQ8_0Gguf_ReadsAsLoraApplyWritesIt_AndSpectrumAnalysesEveryMatrix()
    {
        // Reading base.gguf + adapter used to fail on every adapted matrix ("Q8_0 is block-quantised … no byte size"):
        // the changed tensors kept the base's block type. They are float32 now, the values lora apply writes.
        string gguf = Path.Combine(SharedData.TempFolder(), "base-q8_0.gguf");
        GgufHfImport.Write(SharedData.RequireModel("llm/base-f32"), gguf, DType.Q8_0);
        string adapter = SharedData.Require("llm/lora-python"), output = Path.Combine(SharedData.TempFolder(), "merged");
        Assert.Equal(0, CliRunner.Run("lora", "apply", gguf, adapter, "-o", output).ExitCode);
        using var source = GgufReader.Open(gguf);
        using var adapted = WeightSpace.Analysis.Lora.AdaptedTensorStore.Open(source, adapter);
        using var merged = WeightSpace.Formats.Checkpoint.Open(output);
        Assert.Equal(28, adapted.ChangedTensorCount);
        Assert.Equal(DType.F32, adapted.GetInfo("model.layers.0.self_attn.q_proj.weight").DType);
        foreach (var t in adapted.Tensors)
        {
            if (t.DType != source.GetInfo(t.Name).DType) Assert.Equal(DType.F32, t.DType);
            Assert.Equal(merged.ReadSingle(t.Name), adapted.ReadSingle(t.Name));
        }
        var spectrum = CliRunner.Run("spectrum", gguf, "--adapter", adapter, "--json");
        Assert.True(spectrum.ExitCode == 0, spectrum.Stderr);
        var layers = System.Text.Json.JsonDocument.Parse(spectrum.Stdout).RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.DoesNotContain(layers, l => l.GetProperty("status").GetString() == "failed");
        Assert.Equal(28, layers.Count(l => l.GetProperty("status").GetString() == "ok"));
    }
}

/// <summary>The analyses that run a language model on text take a .gguf wherever they take a folder (one
/// LanguageModelFiles for config, tokenizer and weights): an F32 GGUF of base-f32 gives exactly the folder's numbers.</summary>
public sealed class GgufLanguageModelAnalysesTests
{
    private static (string Folder, string Gguf) BaseF32()
    {
        string folder = SharedData.RequireModel("llm/base-f32");
        string gguf = Path.Combine(SharedData.TempFolder(), "base-f32.gguf");
        GgufHfImport.Write(folder, gguf, DType.F32);
        return (folder, gguf);
    }

    [Fact]
    public void Lmc_WithAGgufEndpoint_EqualsTheFolders()
    {
        var (folder, gguf) = BaseF32();
        string other = SharedData.RequireModel("llm/ft-python"), text = SharedData.Require("llm/eval/python.txt");
        var ct = TestContext.Current.CancellationToken;
        var fromGguf = LanguageModelConnectivity.Interpolate(gguf, other, [text], 3, TinyLlama.Quick(2), null, ct);
        var fromFolder = LanguageModelConnectivity.Interpolate(folder, other, [text], 3, TinyLlama.Quick(2), null, ct);
        Assert.Equal(fromFolder.MeanNllPerByte, fromGguf.MeanNllPerByte);
        // Before: "base-f32.gguf: no config.json (a Hugging Face model folder needs one)", exit 1.
        var cli = CliRunner.Run("lmc", gguf, other, "--text", text, "--points", "2", "--max-windows", "1");
        Assert.True(cli.ExitCode == 0, cli.Stderr);
    }

    [Fact]
    public void SimilarityOnText_OfAGguf_EqualsTheFolders()
    {
        var (folder, gguf) = BaseF32();
        string text = SharedData.Require("llm/eval/prose.txt");
        var options = new LayerSimilarityOptions { MaxWindows = 2 };
        var ct = TestContext.Current.CancellationToken;
        var fromGguf = LayerSimilarity.Analyze(gguf, null, text, options, ct);
        var fromFolder = LayerSimilarity.Analyze(folder, null, text, options, ct);
        Assert.Equal(4, fromGguf.Blocks.Count);
        Assert.Equal(fromFolder.Blocks.Select(b => b.Scores.Cka), fromGguf.Blocks.Select(b => b.Scores.Cka));
    }

    [Fact]
    public void SuperWeight_OfAGguf_IsTheFolders()
    {
        var (folder, gguf) = BaseF32();
        string text = SharedData.Require("llm/eval/prose.txt");
        var protocol = new PerplexityOptions { MaxWindows = 2 };
        var ct = TestContext.Current.CancellationToken;
        var fromGguf = SuperWeights.Detect(gguf, [text], null, protocol, 1, ct);
        var fromFolder = SuperWeights.Detect(folder, [text], null, protocol, 1, ct);
        Assert.Equal(fromFolder.SuperWeight, fromGguf.SuperWeight);
        Assert.Equal(fromFolder.Tensor, fromGguf.Tensor);
        Assert.Equal(fromFolder.Effects.Select(e => e.ZeroedBitsPerByte), fromGguf.Effects.Select(e => e.ZeroedBitsPerByte));
    }
}
