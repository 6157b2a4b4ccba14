using System.Text.Json;

namespace WeightSpace.Tests.Cli;

[Collection(DemoReportCollection.Name)]
public sealed class DemoCommandTests(DemoReportFixture demo)
{
    [Fact]
    public void Demo_FromCheckout_ExitsZeroAndSaysWhereTheReportIs()
    {
        Assert.True(demo.Result.ExitCode == 0, demo.Result.Stderr);
        Assert.Contains(demo.ReportPath, demo.Result.Stdout);
        Assert.Contains("[7/7]", demo.Result.Stdout);
    }

    [Fact]
    public void Demo_ReportAndJson_ContainEverySection()
    {
        string html = File.ReadAllText(demo.ReportPath);
        using var json = JsonDocument.Parse(File.ReadAllText(demo.JsonPath));
        var ids = json.RootElement.GetProperty("sections").EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToArray();
        Assert.Equal(DemoReportFixture.Sections, ids);
        foreach (string id in DemoReportFixture.Sections)
            Assert.Contains($"<section id=\"{id}\"", html);
        foreach (var section in json.RootElement.GetProperty("sections").EnumerateArray())
        {
            Assert.True(section.GetProperty("tables").GetArrayLength() > 0, $"section {section.GetProperty("id")} has no table");
            Assert.True(section.TryGetProperty("command", out _), $"section {section.GetProperty("id")} lacks its command line");
            foreach (var table in section.GetProperty("tables").EnumerateArray())
                Assert.True(File.Exists(Path.Combine(demo.OutputFolder, $"report.{section.GetProperty("id").GetString()}.{table.GetProperty("id").GetString()}.csv")));
        }
    }

    [Fact]
    public void Demo_Findings_ReportRealNumbers()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(demo.JsonPath));
        var findings = json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("text").GetString()!).ToList();
        Assert.Contains(findings, f => f.StartsWith("14 checkpoints in 3 formats", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("after weight matching", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.StartsWith("Best merge:", StringComparison.Ordinal));
    }

    [Fact]
    public void Demo_RebasinSection_NaiveBarrierMatchesTorchReference()
    {
        // shared/data/digits_mlp/expected.json (torch 1.13, float32): naive seed0→seed1 test-loss barrier, the bump at α = 0.5.
        using var expected = SharedData.Json("digits_mlp/expected.json");
        double torchBarrier = expected.RootElement.GetProperty("lmc_naive_seed0_to_seed1").GetProperty("test_loss_barrier").GetDouble();
        using var json = JsonDocument.Parse(File.ReadAllText(demo.JsonPath));
        var rebasin = json.RootElement.GetProperty("sections").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "rebasin");
        var naive = rebasin.GetProperty("tables")[0].GetProperty("rows")[0];
        Assert.Equal("naive", naive[0].GetString());
        double midpoint = naive[2].GetDouble();
        Assert.Equal(torchBarrier, midpoint, 1e-4);   // same weights and data; only float32 summation order differs
        var aligned = rebasin.GetProperty("tables")[0].GetProperty("rows")[1];
        Assert.True(aligned[1].GetDouble() < naive[1].GetDouble() / 2, "weight matching should at least halve the barrier");
    }

    [Fact]
    public void Demo_LlmSection_ReferenceScoresMatchTheTrainersForwardPassAndEachFineTuneWinsItsDomain()
    {
        // data/tinyllama/expected.json: NLL per byte of each model on each held-out text from the training tool's own
        // autograd forward pass (tools/WeightSpace.Train), an implementation independent of CausalLanguageModel.
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "data", "tinyllama", "expected.json")));
        using var json = JsonDocument.Parse(File.ReadAllText(demo.JsonPath));
        var section = json.RootElement.GetProperty("sections").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "llm-merges");
        var rows = section.GetProperty("tables")[0].GetProperty("rows").EnumerateArray().ToList();
        string[] domains = ["prose", "python", "c"];
        foreach (var (label, model) in new[] { ("base", "base"), ("fine-tune: prose", "ft-prose"), ("fine-tune: python", "ft-python"), ("fine-tune: c", "ft-c") })
        {
            var row = rows.Single(r => r[0].GetString() == label);
            for (int d = 0; d < domains.Length; d++)
            {
                double trainer = expected.RootElement.GetProperty("models").GetProperty(model).GetProperty(domains[d]).GetProperty("trainer_nll_per_byte").GetDouble();
                Assert.Equal(trainer / Math.Log(2), row[2 + d].GetDouble(), 1e-4);
            }
        }
        for (int d = 0; d < domains.Length; d++)
        {
            var best = rows.Take(4).MinBy(r => r[2 + d].GetDouble());
            Assert.Equal($"fine-tune: {domains[d]}", best[0].GetString());
        }
        Assert.Equal(4 + 5, rows.Count);   // base, 3 fine-tunes, 5 merges
        Assert.All(rows.Skip(4), r => Assert.InRange(r[r.GetArrayLength() - 1].GetDouble(), 0.5, 8));
    }
}
