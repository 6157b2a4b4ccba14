using System.Text.Json;

namespace WeightSpace.Tests.Cli;

/// <summary><c>weightspace report</c> on the tiny Llama (../shared/data/llm): every transformer section appears and its
/// numbers are the ones docs/neurons-and-outliers.md and docs/transformer.md measured with the single-analysis verbs.</summary>
public sealed class ReportTransformerSectionsTests
{
    private static JsonElement Section(JsonDocument json, string id) =>
        json.RootElement.GetProperty("sections").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    private static JsonElement Table(JsonElement section, string id) =>
        section.GetProperty("tables").EnumerateArray().Single(t => t.GetProperty("id").GetString() == id);

    [Fact]
    public void Report_TinyLlamaAgainstBase_HasHeadsRanksNeuronsOutliersAndWeightSimilarity()
    {
        string model = SharedData.Require("llm/ft-python"), baseline = SharedData.RequireModel("llm/base");
        string dir = SharedData.TempFolder(), html = Path.Combine(dir, "r.html");
        var r = CliRunner.Run("report", model, "--base", baseline, "-o", html);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "r.json")));
        foreach (string id in new[] { "heads-1", "ranks-1", "neurons-1", "outliers-1", "similarity-1" }) Section(json, id);

        // No --text: weight-only similarity, no hidden-state tables.
        var similarity = Section(json, "similarity-1");
        Assert.DoesNotContain(similarity.GetProperty("tables").EnumerateArray(), t => t.GetProperty("id").GetString() == "similarity-1-blocks");
        Assert.Empty(similarity.GetProperty("figures").EnumerateArray());
        Assert.StartsWith("weightspace similarity", similarity.GetProperty("command").GetString());
        // docs/transformer.md: weight-only CKA of every ft-python matrix against base, min 0.9877 over 28 matrices.
        var cross = Table(similarity, "similarity-1-weights-cross").GetProperty("rows").EnumerateArray().Select(row => row[2].GetDouble()).ToList();
        Assert.Equal(28, cross.Count);
        Assert.Equal(0.9877, cross.Min(), 4);
        // Weight-only CKA of q_proj, block 0 → 1: 0.121.
        var consecutive = Table(similarity, "similarity-1-weights-consecutive").GetProperty("rows").EnumerateArray()
            .Single(row => row[0].GetString()!.Contains("layers.0.self_attn.q_proj", StringComparison.Ordinal));
        Assert.Equal(0.121, consecutive[2].GetDouble(), 3);

        // docs/neurons-and-outliers.md: 75.7 % of ft-python's neurons keep base's top-1 token.
        Assert.Contains(json.RootElement.GetProperty("findings").EnumerateArray(), f => f.GetProperty("text").GetString()!.Contains("75.7", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_TinyLlamaBase_OutlierSectionRanksTheDocumentedTopWeightFirst()
    {
        string dir = SharedData.TempFolder(), html = Path.Combine(dir, "r.html");
        var r = CliRunner.Run("report", SharedData.RequireModel("llm/base"), "-o", html);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "r.json")));
        var top = Table(Section(json, "outliers-1"), "outliers-top").GetProperty("rows")[0];
        // docs/neurons-and-outliers.md, top outlier of base: layers.0 down_proj [66, 22] = 0.171875, 6.07 × RMS.
        Assert.Equal("model.layers.0.mlp.down_proj.weight", top[0].GetString());
        Assert.Equal(66, top[1].GetInt64());
        Assert.Equal(22, top[2].GetInt64());
        Assert.Equal(0.171875, top[3].GetDouble(), 6);
        Assert.Equal(6.07, top[4].GetDouble(), 2);
        Table(Section(json, "similarity-1"), "similarity-1-weights-consecutive");
    }

    [Fact]
    public void Report_TinyLlamaBaseWithText_OutlierSectionHasTheSuperWeightAndItsZeroingEffect()
    {
        string dir = SharedData.TempFolder(), html = Path.Combine(dir, "r.html");
        string prose = SharedData.Require("llm/eval/prose.txt");
        var r = CliRunner.Run("report", SharedData.RequireModel("llm/base"), "--text", prose, "-o", html);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "r.json")));
        var outliers = Section(json, "outliers-1");
        Assert.EndsWith("--text " + prose, outliers.GetProperty("command").GetString());
        // docs/neurons-and-outliers.md, spikes on prose.txt: the largest is layer 3, output channel 172, input channel 230,
        // down_proj[172, 230] = 0.1533 (the super-weight candidate).
        var spikes = Table(outliers, "down-proj-spikes").GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(4, spikes.Count);
        Assert.Equal([172L, 230L], new[] { spikes[3][1].GetInt64(), spikes[3][4].GetInt64() });
        Assert.Equal(0.1533203125, spikes[3][6].GetDouble());
        // Zeroing table: the unzeroed bits/byte is eval's (PyTorch's expected value for base, 2.54990); zeroing the candidate
        // moves it by less than 10⁻⁵, zeroing the top outlier (layers.0 down_proj [66, 22]) by +0.00008.
        var zeroing = Table(outliers, "zeroing").GetProperty("rows").EnumerateArray().ToList();
        var super = zeroing.Single(row => row[0].GetString() == "super weight");
        Assert.Equal("model.layers.3.mlp.down_proj.weight [172, 230]", super[1].GetString());
        Assert.Equal(2.54990, super[3].GetDouble(), 5);
        Assert.InRange(super[4].GetDouble() - super[3].GetDouble(), -1e-5, 1e-5);
        var top = zeroing.Single(row => row[0].GetString() == "top outlier");
        Assert.Equal("model.layers.0.mlp.down_proj.weight [66, 22]", top[1].GetString());
        Assert.Equal(0.00008, top[4].GetDouble() - top[3].GetDouble(), 5);
        // The headline: a change that rounds to zero reads "0.000", not .NET's "-+0.000" of a two-section format.
        var finding = Assert.Single(json.RootElement.GetProperty("findings").EnumerateArray(), f => f.GetProperty("text").GetString()!.StartsWith("Super weight", StringComparison.Ordinal));
        Assert.EndsWith("changes bits/byte by 0.000 on average", finding.GetProperty("text").GetString());
    }
}
