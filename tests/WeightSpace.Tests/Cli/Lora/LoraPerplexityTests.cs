using System.Text.Json;
using WeightSpace.Tests.Analysis.Language;

namespace WeightSpace.Tests.Cli.Lora;

/// <summary>Issue #15 with the evaluator: the model <c>lora apply</c> writes scores like PEFT's merged model.</summary>
public sealed class LoraPerplexityTests
{
    private static double NllPerByte(string model, string text, int windows)
    {
        var r = CliRunner.Run("eval", model, "--text", text, "--max-windows", windows.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        return doc.RootElement.GetProperty("texts")[0].GetProperty("nll_per_byte").GetDouble();
    }

    [Fact]
    public void ApplyBaseLoraPython_ScoresAsLoraPythonMerged_AndAsPyTorch()
    {
        string adapter = SharedData.Require("llm/lora-python");
        string output = Path.Combine(SharedData.TempFolder(), "applied");
        var apply = CliRunner.Run("lora", "apply", TinyLlama.Folder("base"), adapter, "-o", output);
        Assert.True(apply.ExitCode == 0, apply.Stderr);
        string python = TinyLlama.Text("python");
        double applied = NllPerByte(output, python, 4);
        double merged = NllPerByte(TinyLlama.Folder("lora-python-merged"), python, 4);
        Assert.Equal(merged, applied, 1e-4);
        // PyTorch's sums of the first 4 windows of the merged model (expected_ppl.json), 127 predictions each.
        double torch = TinyLlama.FirstWindowSums("lora-python-merged", "python").Sum() / (4 * 127);
        Assert.Equal(torch, applied, 1e-4);
    }
}
