using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Cli;

/// <summary>Verbs take hub ids as mergekit does, resolved from a Hugging Face cache laid out in a temp folder
/// (HF_HUB_CACHE); a model that is not cached fails with where WeightSpace looked and how to download it.</summary>
[Collection(nameof(HubIdCommandTests))]
public sealed class HubIdCommandTests
{
    private static string MakeCache()
    {
        string root = Path.Combine(SharedData.TempFolder(), "hub");
        foreach (var (name, value, commit) in new[] { ("a", 1f, new string('a', 40)), ("b", 3f, new string('b', 40)) })
        {
            string repo = Path.Combine(root, "models--org--" + name);
            string snapshot = Path.Combine(repo, "snapshots", commit);
            Directory.CreateDirectory(snapshot);
            Directory.CreateDirectory(Path.Combine(repo, "refs"));
            File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
            using var store = new InMemoryTensorStore().Add("w", [value, 2 * value, 3 * value, 4 * value], 2, 2);
            SafetensorsWriter.Copy(store, Path.Combine(snapshot, "model.safetensors"));
        }
        return root;
    }

    private static T WithCache<T>(string root, Func<T> body)
    {
        string? previous = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", root);
        try { return body(); }
        finally { Environment.SetEnvironmentVariable("HF_HUB_CACHE", previous); }
    }

    [Fact]
    public void Merge_HubIds_ResolveFromTheCache()
    {
        string root = MakeCache();
        string output = Path.Combine(SharedData.TempFolder(), "out");
        var r = WithCache(root, () => CliRunner.Run("merge", "--method", "linear", "--models", "org/a", "org/b", "-o", output));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var merged = Checkpoint.Open(output);
        Assert.Equal([2f, 4f, 6f, 8f], merged.ReadSingle("w"));
    }

    [Fact]
    public void Inspect_HubIdAtRevision_ReadsThatSnapshot()
    {
        string root = MakeCache();
        var r = WithCache(root, () => CliRunner.Run("inspect", "org/b@" + new string('b', 40), "--json"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("\"w\"", r.Stdout);
    }

    [Fact]
    public void Merge_UncachedHubId_OneLineSayingWhereAndHow()
    {
        string root = MakeCache();
        var r = WithCache(root, () => CliRunner.Run("merge", "--method", "linear", "--models", "org/a", "mistralai/Mistral-7B-v0.1", "-o", Path.Combine(SharedData.TempFolder(), "out")));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("models--mistralai--Mistral-7B-v0.1", r.Stderr);
        Assert.Contains("hf download mistralai/Mistral-7B-v0.1", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    /// <summary>A cache holding the tiny Llama base as <c>tiny/base</c> (its files copied into a snapshot).</summary>
    private static string LlmCache()
    {
        string source = SharedData.RequireModel("llm/base");
        string root = Path.Combine(SharedData.TempFolder(), "hub"), commit = new string('c', 40);
        string repo = Path.Combine(root, "models--tiny--base"), snapshot = Path.Combine(repo, "snapshots", commit);
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
        foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
        // The PEFT adapter as tiny/lora.
        string adapter = Path.Combine(root, "models--tiny--lora"), adapterCommit = new string('d', 40), adapterSnapshot = Path.Combine(adapter, "snapshots", adapterCommit);
        Directory.CreateDirectory(adapterSnapshot);
        Directory.CreateDirectory(Path.Combine(adapter, "refs"));
        File.WriteAllText(Path.Combine(adapter, "refs", "main"), adapterCommit);
        foreach (string f in Directory.GetFiles(SharedData.Require("llm/lora-python"))) File.Copy(f, Path.Combine(adapterSnapshot, Path.GetFileName(f)));
        return root;
    }

    [Fact]
    public void AnAdapterGivenAsAHubId_IsMergedOnRead_AsItsLocalFolder()
    {
        string root = LlmCache(), text = SharedData.Require("llm/eval/python.txt");
        string[] quick = ["--text", text, "--max-windows", "1", "--threads", "1", "--json"];
        var byId = WithCache(root, () => CliRunner.Run(["eval", "tiny/base", "--adapter", "tiny/lora", .. quick]));
        Assert.True(byId.ExitCode == 0, byId.Stderr);
        var byPath = CliRunner.Run(["eval", SharedData.RequireModel("llm/base"), "--adapter", SharedData.Require("llm/lora-python"), .. quick]);
        static double Nll(CliRunner.Result r) => System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement.GetProperty("texts")[0].GetProperty("nll_sum").GetDouble();
        Assert.Equal(Nll(byPath), Nll(byId));
        // diff and neurons take it as base + adapter (not as a checkpoint of factor tensors).
        var neurons = WithCache(root, () => CliRunner.Run("neurons", "tiny/lora", "--against", "tiny/base", "--json"));
        Assert.True(neurons.ExitCode == 0, neurons.Stderr);
        Assert.Equal(0.799, System.Text.Json.JsonDocument.Parse(neurons.Stdout).RootElement.GetProperty("share_top1_unchanged").GetDouble(), 3);
        foreach (string[] args in new[]
        {
            new[] { "similarity", "tiny/lora", "--against", "tiny/base" },
            new[] { "lmc", "tiny/base", "tiny/lora", "--text", text, "--points", "2", "--max-windows", "1" },
            new[] { "diff", "tiny/base", "tiny/lora" },
        })
        {
            var r = WithCache(root, () => CliRunner.Run(args));
            Assert.True(r.ExitCode == 0, $"{args[0]}: {r.Stderr}");
        }
    }

    [Fact]
    public void TextAnalyses_TakeHubIds_AsEveryOtherVerb()
    {
        // eval, outliers --text, lmc --text and similarity --text used to stop at "tiny/base: no such file or directory".
        string root = LlmCache(), text = SharedData.Require("llm/eval/python.txt");
        string[] quick = ["--text", text, "--max-windows", "2", "--threads", "1", "--json"];
        var byId = WithCache(root, () => CliRunner.Run(["eval", "tiny/base", .. quick]));
        Assert.True(byId.ExitCode == 0, byId.Stderr);
        var byPath = CliRunner.Run(["eval", SharedData.RequireModel("llm/base"), .. quick]);
        static double Nll(CliRunner.Result r) => System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement.GetProperty("texts")[0].GetProperty("nll_sum").GetDouble();
        Assert.Equal(Nll(byPath), Nll(byId));
        foreach (string[] args in new[]
        {
            new[] { "outliers", "tiny/base", "--text", text, "--max-windows", "1", "--probe-windows", "1", "--top", "1" },
            new[] { "lmc", "tiny/base", SharedData.RequireModel("llm/ft-python"), "--text", text, "--points", "2", "--max-windows", "1" },
            new[] { "similarity", "tiny/base", "--text", text, "--windows", "1" },
        })
        {
            var r = WithCache(root, () => CliRunner.Run(args));
            Assert.True(r.ExitCode == 0, $"{args[0]}: {r.Stderr}");
        }
        var missing = WithCache(root, () => CliRunner.Run("eval", "tiny/absent", "--text", text));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("hf download tiny/absent", missing.Stderr);
    }

    [Fact]
    public void ConvertToGguf_FromAHubId_WritesTheSnapshotsModel()
    {
        // Used to stop at "tiny/base: no such file or directory" (the GGUF writer looked for a local folder).
        string root = LlmCache(), gguf = Path.Combine(SharedData.TempFolder(), "base.gguf");
        var r = WithCache(root, () => CliRunner.Run("convert", "tiny/base", gguf, "--type", "f32"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var written = WeightSpace.Formats.Checkpoint.Open(gguf);
        using var source = WeightSpace.Formats.Checkpoint.Open(SharedData.RequireModel("llm/base"));
        Assert.Equal(source.ReadSingle("model.layers.0.self_attn.q_proj.weight"), written.ReadSingle("model.layers.0.self_attn.q_proj.weight"));
    }

    [Fact]
    public void LoraApply_OnAHubId_CopiesTheSnapshotsConfigAndTokenizer()
    {
        // The output used to hold the weights only: the files were looked for in ./tiny, not in the snapshot.
        string root = LlmCache(), output = Path.Combine(SharedData.TempFolder(), "applied");
        var r = WithCache(root, () => CliRunner.Run("lora", "apply", "tiny/base", SharedData.Require("llm/lora-python"), "-o", output));
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (string f in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
    }
}

/// <summary>Quantised GGUF inputs merge dequantised and come out F32 (safetensors has no block types).</summary>
public sealed class QuantizedMergeInputTests
{
    [Fact]
    public void Merge_GgufBlockInputs_WritesF32EqualToTheDequantisedValues()
    {
        string gguf = SharedData.Require("gguf/synthetic/quant-gguf-py.gguf");
        string output = Path.Combine(SharedData.TempFolder(), "out");
        var r = CliRunner.Run("merge", "--method", "linear", "--models", gguf, gguf, "-o", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var source = Checkpoint.Open(gguf);
        using var merged = Checkpoint.Open(output);
        var quantized = source.Tensors.Where(t => t.DType.IsBlockQuantized()).ToList();
        Assert.NotEmpty(quantized);
        foreach (var info in quantized)
        {
            Assert.Equal(DType.F32, merged.GetInfo(info.Name).DType);
            Assert.Equal(source.ReadSingle(info.Name), merged.ReadSingle(info.Name));
        }
    }
}
