using System.Text.Json;
using System.Xml.Linq;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary><c>diff F32.gguf Q4_K_M.gguf --plots DIR --report F.html</c>: the plot files and the report section, whose
/// tables must carry exactly the numbers of the <c>--json</c> document.</summary>
public sealed class GgufQuantizationPlotsTests
{
    [Fact]
    public void PlotsAndReportSection_AreWritten_AndTheTablesEqualTheJson()
    {
        string f32 = SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf");
        string q4 = SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf");
        string dir = SharedData.TempFolder();
        string plots = Path.Combine(dir, "plots"), html = Path.Combine(dir, "q.html");
        var r = CliRunner.Run("diff", f32, q4, "--plots", plots, "--report", html);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("wrote 10 plot files", r.Stdout, StringComparison.Ordinal);

        string[] stems =
        [
            "layer-role.quantization.relative-l2.heatmap", "layer-role.quantization.relative-l2.profiles",
            "layer-role.quantization.snr-db.heatmap", "layer-role.quantization.snr-db.profiles", "quantization.relative-l2-histogram",
        ];
        Assert.Equal(stems.SelectMany(s => new[] { s + ".png", s + ".svg" }).Order(StringComparer.Ordinal), Directory.GetFiles(plots).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string stem in stems)
        {
            Assert.Equal("svg", XDocument.Load(Path.Combine(plots, stem + ".svg")).Root!.Name.LocalName);
            byte[] png = File.ReadAllBytes(Path.Combine(plots, stem + ".png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        }

        var jsonRun = CliRunner.Run("diff", f32, q4, "--json");
        using var expected = JsonDocument.Parse(jsonRun.Stdout);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "q.json")));
        var section = report.RootElement.GetProperty("sections").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "quantization-error");
        Assert.Equal(5, section.GetProperty("figures").GetArrayLength());
        var tables = section.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("id").GetString()!, t => t.GetProperty("rows").EnumerateArray().ToList());

        var tensors = expected.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(39, tensors.Count);
        Assert.Equal(tensors.Count, tables["quantization-tensors"].Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            var row = tables["quantization-tensors"][i];
            Assert.Equal(tensors[i].GetProperty("name").GetString(), row[0].GetString());
            Assert.Equal(tensors[i].GetProperty("dtype").GetString(), row[2].GetString());
            Assert.Equal(tensors[i].GetProperty("elements").GetInt64(), row[3].GetInt64());
            Assert.Equal(Number(tensors[i].GetProperty("relative_l2")), Number(row[4]));
            Assert.Equal(Number(tensors[i].GetProperty("snr_db")), Number(row[5]));
            Assert.Equal(Number(tensors[i].GetProperty("max_abs_error")), Number(row[6]));
        }

        var groups = new[] { expected.RootElement.GetProperty("summary") }
            .Concat(expected.RootElement.GetProperty("by_role").EnumerateArray())
            .Concat(expected.RootElement.GetProperty("by_layer").EnumerateArray()).ToList();
        Assert.Equal(groups.Count, tables["quantization-summary"].Count);
        for (int i = 0; i < groups.Count; i++)
        {
            var row = tables["quantization-summary"][i];
            Assert.Equal(groups[i].GetProperty("group").GetString(), row[0].GetString());
            Assert.Equal(groups[i].GetProperty("tensors").GetInt64(), row[1].GetInt64());
            Assert.Equal(Number(groups[i].GetProperty("mean_relative_l2")), Number(row[2]));
            Assert.Equal(Number(groups[i].GetProperty("max_relative_l2")), Number(row[3]));
            Assert.Equal(Number(groups[i].GetProperty("mean_snr_db")), Number(row[4]));
        }
        // The README's Q4_K_M row (independent of both writers).
        Assert.Equal(0.06239, Number(tables["quantization-summary"][0][2]), 0.000005);
        Assert.Equal(0.07188, Number(tables["quantization-summary"][0][3]), 0.000005);
        Assert.Contains("<svg", File.ReadAllText(html), StringComparison.Ordinal);
    }

    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : e.GetDouble();
}
