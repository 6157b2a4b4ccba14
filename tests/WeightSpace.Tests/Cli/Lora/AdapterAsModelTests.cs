using System.Text.Json;
using System.Text.Json.Nodes;

namespace WeightSpace.Tests.Cli.Lora;

/// <summary>A PEFT adapter folder as the MODEL of <c>neurons</c> and <c>heads</c> (with <c>--against BASE</c>) is the base
/// with the adapter merged in on read, as for <c>diff</c> and <c>spectrum --against</c>: the same numbers as for the
/// model <c>lora apply</c> writes. Without a base, or in <c>report</c>, it is refused with what to do instead.</summary>
public sealed class AdapterAsModelTests
{
    private static (string Base, string Adapter, string Applied) Models()
    {
        string @base = SharedData.RequireModel("llm/base"), adapter = SharedData.Require("llm/lora-python");
        string applied = Path.Combine(SharedData.TempFolder(), "applied");
        var r = CliRunner.Run("lora", "apply", @base, adapter, "-o", applied);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return (@base, adapter, applied);
    }

    // The JSON without the "model" key (it names the adapter or the applied folder).
    private static string WithoutModel(string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        root.Remove("model");
        return root.ToJsonString();
    }

    [Fact]
    public void Neurons_OfAnAdapterAgainstItsBase_AreThoseOfTheAppliedModel_WithTheBasesTokens()
    {
        // Before: "lora-python: has neither an output head … nor token embeddings" (the factors were read as a model).
        var (@base, adapter, applied) = Models();
        var fromAdapter = CliRunner.Run("neurons", adapter, "--against", @base, "--top", "2", "--json");
        var fromApplied = CliRunner.Run("neurons", applied, "--against", @base, "--top", "2", "--json");
        Assert.True(fromAdapter.ExitCode == 0, fromAdapter.Stderr);
        Assert.True(fromApplied.ExitCode == 0, fromApplied.Stderr);
        Assert.Equal(WithoutModel(fromApplied.Stdout), WithoutModel(fromAdapter.Stdout));
        // docs/neurons-and-outliers.md-style share for the LoRA: 79.9 % keep base's top-1 token; tokens are text, not ids.
        using var doc = JsonDocument.Parse(fromAdapter.Stdout);
        Assert.Equal(0.799, doc.RootElement.GetProperty("share_top1_unchanged").GetDouble(), 3);
        Assert.Equal("e", doc.RootElement.GetProperty("layers")[0].GetProperty("neurons")[0].GetProperty("tokens")[0].GetString());
    }

    [Fact]
    public void Heads_OfAnAdapterAgainstItsBase_AreThoseOfTheAppliedModel()
    {
        // Before: "no config.json beside it … give --heads": the layout now comes from the base when the adapter has none.
        var (@base, adapter, applied) = Models();
        var fromAdapter = CliRunner.Run("heads", adapter, "--against", @base, "--json");
        var fromApplied = CliRunner.Run("heads", applied, "--against", @base, "--json");
        Assert.True(fromAdapter.ExitCode == 0, fromAdapter.Stderr);
        Assert.Equal(WithoutModel(fromApplied.Stdout), WithoutModel(fromAdapter.Stdout));
    }

    [Fact]
    public void AnAdapterWithoutItsBase_OrInReport_IsAUsageErrorSayingWhatToDo()
    {
        string adapter = SharedData.Require("llm/lora-python");
        var neurons = CliRunner.Run("neurons", adapter);
        Assert.Equal(2, neurons.ExitCode);
        Assert.Contains("--against BASE", neurons.Stderr);
        var report = CliRunner.Run("report", adapter, "--base", SharedData.Require("llm/base"), "-o", Path.Combine(SharedData.TempFolder(), "r.html"));
        Assert.Equal(2, report.ExitCode);
        Assert.Contains("lora apply BASE", report.Stderr);
        Assert.Contains("eval BASE --adapter", report.Stderr);
    }
}
