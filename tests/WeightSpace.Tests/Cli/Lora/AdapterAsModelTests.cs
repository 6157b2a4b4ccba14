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
    public void Similarity_OfAnAdapterAgainstItsBase_IsThatOfTheModelWithTheAdapterMergedIn()
    {
        // Weight-only: the store lora apply writes (base dtype); with a text: the adapter merged in float32 (as eval
        // --adapter), so the hidden states are those of `lora apply --dtype f32`'s model.
        var (@base, adapter, applied) = Models();
        string text = SharedData.Require("llm/eval/prose.txt");
        var fromAdapter = CliRunner.Run("similarity", adapter, "--against", @base, "--json");
        var fromApplied = CliRunner.Run("similarity", applied, "--against", @base, "--json");
        Assert.True(fromAdapter.ExitCode == 0, fromAdapter.Stderr);
        Assert.Equal(WithoutModel(fromApplied.Stdout), WithoutModel(fromAdapter.Stdout));
        string appliedF32 = Path.Combine(SharedData.TempFolder(), "applied-f32");
        Assert.Equal(0, CliRunner.Run("lora", "apply", @base, adapter, "-o", appliedF32, "--dtype", "f32").ExitCode);
        var onText = CliRunner.Run("similarity", adapter, "--against", @base, "--text", text, "--windows", "1", "--json");
        var onTextApplied = CliRunner.Run("similarity", appliedF32, "--against", @base, "--text", text, "--windows", "1", "--json");
        Assert.True(onText.ExitCode == 0, onText.Stderr);
        static string Blocks(string json) => JsonNode.Parse(json)!["consecutive_blocks"]!.ToJsonString();
        Assert.Equal(Blocks(onTextApplied.Stdout), Blocks(onText.Stdout));
    }

    [Fact]
    public void Similarity_OfAFileWithLoraFactors_PairsEachFactorWithTheSameFactorOneBlockOn()
    {
        // Two matrices per role and block (lora_A, lora_B) used to crash: "An item with the same key has already been added".
        var r = CliRunner.Run("similarity", SharedData.Require("llm/lora-python/adapter_model.safetensors"), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var pairs = JsonNode.Parse(r.Stdout)!["weights_consecutive"]!.AsArray().Select(p => p!["label"]!.GetValue<string>()).ToList();
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", pairs);
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", pairs);
        Assert.Equal(2 * 7 * 3, pairs.Count);   // 7 adapted modules × 2 factors × 3 block pairs (0→1, 1→2, 2→3)
    }

    [Fact]
    public void Lmc_FromABaseToItsAdapter_EndsAtEvalAdaptersScore()
    {
        // θ(α) = (1 − α)·base + α·(base + s·B·A): α = 1 is the adapted model, scored as eval BASE --adapter does.
        string @base = SharedData.RequireModel("llm/base-f32"), adapter = SharedData.Require("llm/lora-python"), text = SharedData.Require("llm/eval/python.txt");
        var options = WeightSpace.Tests.Analysis.Language.TinyLlama.Quick(2);
        var ct = TestContext.Current.CancellationToken;
        var curve = WeightSpace.Analysis.Language.LanguageModelConnectivity.Interpolate(@base, adapter, [text], 2, options, null, ct);
        var plain = WeightSpace.Analysis.Language.LanguageModelEvaluation.Evaluate(@base, [text], options, null, ct).Texts[0];
        var adapted = WeightSpace.Analysis.Language.LanguageModelEvaluation.Evaluate(@base, [text], options with { AdapterPath = adapter }, null, ct).Texts[0];
        Assert.Equal(plain.NllPerByte, curve.NllPerByte[0][0], 1e-9);
        Assert.Equal(adapted.NllPerByte, curve.NllPerByte[0][^1], 1e-6);
        Assert.True(curve.NllPerByte[0][^1] < curve.NllPerByte[0][0]);
    }

    [Fact]
    public void TaskVecScale_OfAnAdapter_MovesAlongItsDeltaW_AndScoresTheAdapterAsEvalAdapter()
    {
        // The adapter's task vector is s·B·A: λ = 1 gives what lora apply writes (up to the rounding of θ₀ + (θ − θ₀)).
        string @base = SharedData.RequireModel("llm/base-f32"), adapter = SharedData.Require("llm/lora-python"), dir = SharedData.TempFolder();
        string text = Path.Combine(dir, "python-2k.txt");
        File.WriteAllBytes(text, File.ReadAllBytes(SharedData.Require("llm/eval/python.txt"))[..2048]);
        var one = CliRunner.Run("taskvec", "scale", @base, adapter, "--lambda", "1", "-o", Path.Combine(dir, "one"), "--eval", text);
        Assert.True(one.ExitCode == 0, one.Stderr);
        Assert.Equal(0, CliRunner.Run("lora", "apply", @base, adapter, "-o", Path.Combine(dir, "applied")).ExitCode);
        using (var a = WeightSpace.Formats.Checkpoint.Open(Path.Combine(dir, "one")))
        using (var b = WeightSpace.Formats.Checkpoint.Open(Path.Combine(dir, "applied")))
            foreach (var t in b.Tensors)
            {
                float[] x = a.ReadSingle(t.Name), y = b.ReadSingle(t.Name);
                for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-6f * Math.Max(1, Math.Abs(y[i])), $"{t.Name}[{i}]: {x[i]} vs {y[i]}");
            }
        var eval = CliRunner.Run("eval", @base, "--adapter", adapter, "--text", text, "--json");
        double bits = JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("texts")[0].GetProperty("bits_per_byte").GetDouble();
        string row = Assert.Single(one.Stdout.Split('\n'), l => l.Contains("lora-python", StringComparison.Ordinal));
        Assert.Contains(bits.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), row);
    }

    [Fact]
    public void AnAdapterWithoutItsBase_IsAUsageErrorSayingToGiveIt()
    {
        string adapter = SharedData.Require("llm/lora-python");
        var neurons = CliRunner.Run("neurons", adapter);
        Assert.Equal(2, neurons.ExitCode);
        Assert.Contains("--against BASE", neurons.Stderr);
        var report = CliRunner.Run("report", adapter, "-o", Path.Combine(SharedData.TempFolder(), "r.html"));
        Assert.Equal(2, report.ExitCode);
        Assert.Contains("--base BASE", report.Stderr);
    }

    [Fact]
    public void Report_OfAnAdapterWithItsBase_AnalysesBasePlusAdapter_AndScoresItAsEvalAdapter()
    {
        // Before: "95 tensor problem(s): … lm_head.weight: missing" (the factors were read as a checkpoint).
        string @base = SharedData.RequireModel("llm/base"), adapter = SharedData.Require("llm/lora-python");
        string dir = SharedData.TempFolder(), text = Path.Combine(dir, "python-4k.txt");
        File.WriteAllBytes(text, File.ReadAllBytes(SharedData.Require("llm/eval/python.txt"))[..4096]);
        var r = CliRunner.Run("report", adapter, "--base", @base, "--text", text, "-o", Path.Combine(dir, "r.html"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "r.json")));
        var ids = json.RootElement.GetProperty("sections").EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToList();
        foreach (string id in new[] { "task-vectors", "heads-1", "neurons-1", "outliers-1", "similarity-1", "perplexity" }) Assert.Contains(id, ids);
        Assert.Contains(json.RootElement.GetProperty("findings").EnumerateArray(), f => f.GetProperty("text").GetString()!.Contains("79.9 %", StringComparison.Ordinal));
        var eval = CliRunner.Run("eval", @base, "--adapter", adapter, "--text", text, "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        double bitsPerByte = JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("texts")[0].GetProperty("bits_per_byte").GetDouble();
        string best = json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("text").GetString()!).Single(t => t.StartsWith("Best on", StringComparison.Ordinal));
        Assert.Contains("lora-python at " + bitsPerByte.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), best);
    }
}
