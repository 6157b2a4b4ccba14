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
}
