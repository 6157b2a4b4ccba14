using System.Globalization;
using System.Text.Json;
using WeightSpace.Tests.Analysis.Language;

namespace WeightSpace.Tests.Cli;

/// <summary>Scores where users need them: <c>taskvec … --eval</c> and <c>lmc A B --text --plane C</c> on the tiny Llama.</summary>
public sealed class LanguageModelScoreCommandTests
{
    /// <summary>The first 16 windows of a shared eval text, so a full-protocol score stays quick.</summary>
    private static string ShortText(string domain, string folder)
    {
        string path = Path.Combine(folder, $"{domain}-2k.txt");
        File.WriteAllBytes(path, File.ReadAllBytes(TinyLlama.Text(domain))[..2048]);
        return path;
    }

    private static double BitsPerByte(string stdout, string rowStart) =>
        double.Parse(stdout.Split('\n').Single(l => l.TrimStart().StartsWith(rowStart, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1],
            CultureInfo.InvariantCulture);

    [Fact]
    public void TaskVecScale_Eval_PrintsOutputBesideInputsAndLambdaOneScoresAsTheFineTune()
    {
        string folder = SharedData.TempFolder();
        string text = ShortText("python", folder);
        string baseModel = TinyLlama.Folder("base"), ft = TinyLlama.Folder("ft-python"), output = Path.Combine(folder, "out");
        var r = CliRunner.Run("taskvec", "scale", baseModel, ft, "--lambda", "1", "-o", output, "--eval", text);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("python-2k.txt bits/byte", r.Stdout);
        double b = BitsPerByte(r.Stdout, baseModel), f = BitsPerByte(r.Stdout, ft), o = BitsPerByte(r.Stdout, output + " (output)");
        // θ₀ + 1·(θ − θ₀) is θ again (BF16 differences are exact in float32), so it scores as the fine-tune, better than the base.
        Assert.Equal(f, o, 1e-6);
        Assert.True(f < b, $"ft-python {f} should beat base {b} on python");
    }

    [Fact]
    public void TaskVec_EvalTextMissing_Exit1BeforeWriting()
    {
        string folder = SharedData.TempFolder();
        string output = Path.Combine(folder, "out");
        var r = CliRunner.Run("taskvec", "scale", TinyLlama.Folder("base"), TinyLlama.Folder("ft-python"), "--lambda", "0.5", "-o", output, "--eval", Path.Combine(folder, "nope.txt"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nope.txt", r.Stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void LmcText_PlaneJsonAndReport_EndpointsAreTheModelsOwnScores()
    {
        string folder = SharedData.TempFolder();
        string prose = ShortText("prose", folder), python = ShortText("python", folder), html = Path.Combine(folder, "lmc.html");
        var r = CliRunner.Run("lmc", TinyLlama.Folder("ft-prose"), TinyLlama.Folder("ft-python"), "--text", prose, python, "--points", "3",
            "--plane", TinyLlama.Folder("ft-c"), "--resolution", "2", "--max-windows", "2", "--json", "--report", html);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        var nll = root.GetProperty("nll_per_byte");
        var plane = root.GetProperty("plane");
        Assert.Equal(4, plane.GetProperty("mean_nll_per_byte").GetArrayLength());
        foreach (var (model, alphaIndex) in new[] { ("ft-prose", 0), ("ft-python", 2) })
        {
            var own = CliRunner.Run("eval", TinyLlama.Folder(model), "--text", prose, python, "--max-windows", "2", "--json");
            using var ownDoc = JsonDocument.Parse(own.Stdout);
            var texts = ownDoc.RootElement.GetProperty("texts");
            for (int t = 0; t < 2; t++)
                Assert.Equal(texts[t].GetProperty("nll_per_byte").GetDouble(), nll[t][alphaIndex].GetDouble(), 1e-9);
        }
        string page = File.ReadAllText(html);
        Assert.Contains("<section id=\"lmc\"", page);
        Assert.Contains("Loss barrier between ft-prose and ft-python", page);
    }

    [Fact]
    public void LmcText_WithData_Exit2NamesTheConflict()
    {
        var r = CliRunner.Run("lmc", "a", "b", "--text", "x.txt", "--data", "d");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--text", r.Stderr);
    }
}
