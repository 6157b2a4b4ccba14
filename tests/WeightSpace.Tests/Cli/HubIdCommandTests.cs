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
