using WeightSpace.Analysis.Quantization;
using WeightSpace.Formats.Gguf;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>The quantisation-error report (diff F32 vs quantised GGUF) against gguf-py's per-tensor relative L2
/// (expected.json rel_l2_err_vs_f32) and the mean/max table of the shared gguf/README.</summary>
public sealed class GgufQuantizationErrorTests
{
    [Theory]
    [InlineData("iq4_nl", 0.06889, 0.07651)]
    [InlineData("q2_k", 0.2186, 0.3022)]
    [InlineData("q4_0", 0.0836, 0.08665)]
    [InlineData("q4_k_m", 0.06239, 0.07188)]
    [InlineData("q5_k_m", 0.03303, 0.03638)]
    [InlineData("q6_k", 0.01776, 0.01788)]
    [InlineData("q8_0", 0.005354, 0.005386)]
    public void Report_MatchesGgufPyAndTheReadmeTable(string type, double mean, double max)
    {
        var options = new GgufOptions { Naming = GgufNaming.Gguf };
        using var reference = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), options);
        using var quantized = GgufReader.Open(SharedData.Require($"gguf/tinyllama/tinyllama-{type}.gguf"), options);
        using var expected = SharedData.Json($"gguf/tinyllama/tinyllama-{type}.expected.json");

        Assert.True(QuantizationErrorReport.Applies(reference, quantized));
        var report = QuantizationErrorReport.Compute(reference, quantized, TestContext.Current.CancellationToken);
        Assert.Equal(39, report.Tensors.Count);
        foreach (var t in report.Tensors)
        {
            double gguf = expected.RootElement.GetProperty("tensors").GetProperty(t.Name).GetProperty("rel_l2_err_vs_f32").GetDouble();
            Assert.Equal(gguf, t.RelativeL2, 1e-12 + 1e-10 * gguf);
            Assert.Equal(-20 * Math.Log10(t.RelativeL2), t.SnrDb, 1e-9);
            Assert.True(t.MaxAbsError >= 0 && (t.RelativeL2 == 0) == (t.MaxAbsError == 0));
        }
        Assert.Equal(mean, report.Summary.MeanRelativeL2, 0.5 * Math.Pow(10, Math.Floor(Math.Log10(mean)) - 3));
        Assert.Equal(max, report.Summary.MaxRelativeL2, 0.5 * Math.Pow(10, Math.Floor(Math.Log10(max)) - 3));
    }

    [Fact]
    public void DiffCommand_F32VsQ4KM_PrintsTheQuantisationReport()
    {
        var r = CliRunner.Run("diff", SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf"), "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Stdout);
        Assert.Equal("quantization_error", doc.RootElement.GetProperty("kind").GetString());
        Assert.Equal(0.07188, doc.RootElement.GetProperty("summary").GetProperty("max_relative_l2").GetDouble(), 0.000005);
        Assert.Contains(doc.RootElement.GetProperty("tensors").EnumerateArray(), t => t.GetProperty("name").GetString() == "model.layers.0.self_attn.q_proj.weight");
    }
}
