using System.Text.Json;
using WeightSpace.Tests.Analysis.Lora;
using static WeightSpace.Tests.Analysis.Lora.LoraFixtures;

namespace WeightSpace.Tests.Cli.Lora;

/// <summary>The <c>lora</c> verbs: one-line errors with exit 1 for misfits, JSON reports, nothing half-written.</summary>
public sealed class LoraCommandTests
{
    private static string Base()
    {
        string dir = Path.Combine(SharedData.TempFolder(), "base");
        Directory.CreateDirectory(dir);
        WeightSpace.Formats.Safetensors.SafetensorsWriter.Copy(new InMemoryTensorStore()
            .Add("model.q_proj.weight", [1, 0, 0, 1, 1, 1], 2, 3).Add("model.norm.weight", [1, 1], 2), Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{}");
        return dir;
    }

    [Fact]
    public void Apply_MismatchedAdapter_ExitsOneWithOneLineAndWritesNothing()
    {
        string adapter = Write(Config(1, 1, "", "[\"q_proj\"]"), new InMemoryTensorStore()
            .Add(Prefix + "model.q_proj.lora_A.weight", [1, 2, 3, 4], 1, 4).Add(Prefix + "model.q_proj.lora_B.weight", [1, 1], 2, 1));
        string output = Path.Combine(SharedData.TempFolder(), "out");
        var r = CliRunner.Run("lora", "apply", Base(), adapter, "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("module 'model.q_proj'", r.Stderr);
        Assert.Contains("[2, 3]", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void ApplyThenExtract_RoundTripsTheAdapter_WithConfigAndTokenizerCopied()
    {
        string baseDir = Base();
        string adapter = Write(Config(1, 2, "", "[\"q_proj\"]"), new InMemoryTensorStore()
            .Add(Prefix + "model.q_proj.lora_A.weight", [1, 2, 3], 1, 3).Add(Prefix + "model.q_proj.lora_B.weight", [1, -1], 2, 1));
        string merged = Path.Combine(SharedData.TempFolder(), "merged");
        var apply = CliRunner.Run("lora", "apply", baseDir, adapter, "--scale", "0.5", "-o", merged, "--json");
        Assert.Equal(0, apply.ExitCode);
        Assert.True(File.Exists(Path.Combine(merged, "config.json")) && File.Exists(Path.Combine(merged, "tokenizer.json")));

        string extracted = Path.Combine(SharedData.TempFolder(), "extracted");
        var extract = CliRunner.Run("lora", "extract", baseDir, merged, "--rank", "4", "-o", extracted, "--json");
        Assert.Equal(0, extract.ExitCode);
        using var doc = JsonDocument.Parse(extract.Stdout);
        var module = Assert.Single(doc.RootElement.GetProperty("modules").EnumerateArray());
        Assert.Equal("model.q_proj", module.GetProperty("module").GetString());
        Assert.Equal(2, module.GetProperty("rank").GetInt32());   // min(4, 2, 3)
        Assert.True(module.GetProperty("relative_error").GetDouble() < 1e-6);
        // ΔW = 0.5 · 2 · [1, -1]ᵀ[1, 2, 3]: ‖ΔW‖ = √2 · √14.
        Assert.Equal(Math.Sqrt(28), module.GetProperty("delta_norm").GetDouble(), 5);
        Assert.Equal(1, doc.RootElement.GetProperty("unchanged_tensors").GetInt32());
        Assert.True(File.Exists(Path.Combine(extracted, "adapter_config.json")));
    }
}

/// <summary><c>lora analyze --report</c> on the real adapter: the section's table and findings agree with the JSON.</summary>
public sealed class LoraAnalyzeReportTests
{
    [Fact]
    public void Report_ListsEveryModule_AndCountsTheJsonsIntruders()
    {
        string baseDir = SharedData.RequireModel("llm/base"), adapter = SharedData.Require("llm/lora-python");
        string html = Path.Combine(SharedData.TempFolder(), "adapter.html");

        var json = CliRunner.Run("lora", "analyze", baseDir, adapter, "--json");
        var report = CliRunner.Run("lora", "analyze", baseDir, adapter, "--report", html);

        Assert.Equal(0, json.ExitCode);
        Assert.Equal(0, report.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        var modules = doc.RootElement.GetProperty("modules").EnumerateArray().ToList();
        int intruders = modules.Sum(m => m.GetProperty("intruders").GetArrayLength());
        int withIntruders = modules.Count(m => m.GetProperty("intruders").GetArrayLength() > 0);
        string text = File.ReadAllText(html);
        Assert.Contains($"{intruders} intruder dimension(s) in {withIntruders} of {modules.Count} adapted modules", text);
        foreach (var m in modules) Assert.Contains(m.GetProperty("module").GetString()!, text);
        int top = doc.RootElement.GetProperty("layers_by_change")[0].GetProperty("layer").GetInt32();
        Assert.Contains($"The adapter changes layer {top} most", text);
    }
}
