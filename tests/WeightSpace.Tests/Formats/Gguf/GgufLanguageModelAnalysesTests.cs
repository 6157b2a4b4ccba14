using WeightSpace.Analysis.Language;
using WeightSpace.Analysis.Outliers;
using WeightSpace.Analysis.Similarity;
using WeightSpace.Formats.Gguf;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>The analyses that run a language model on text take a .gguf wherever they take a folder (one
/// LanguageModelFiles for config, tokenizer and weights): an F32 GGUF of base-f32 gives exactly the folder's numbers.</summary>
public sealed class GgufLanguageModelAnalysesTests
{
    private static readonly LanguageModelEvaluationOptions Quick = new() { Protocol = new PerplexityOptions { MaxWindows = 2 }, Model = new LanguageModelOptions { TorchThreads = 1 } };

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
        var fromGguf = LanguageModelConnectivity.Interpolate(gguf, other, [text], 3, Quick, null, ct);
        var fromFolder = LanguageModelConnectivity.Interpolate(folder, other, [text], 3, Quick, null, ct);
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
