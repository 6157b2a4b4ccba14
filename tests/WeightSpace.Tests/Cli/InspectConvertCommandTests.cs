using System.Text.Json;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Cli;

public sealed class InspectConvertCommandTests
{
    [Fact]
    public void InspectJson_WithStats_MatchesFixtureSumsAndShape()
    {
        string path = SharedData.Require("safetensors/mlp.safetensors");
        using var expected = SharedData.Json("safetensors/mlp.expected.json");
        var r = CliRunner.Run("inspect", path, "--stats", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("safetensors", root.GetProperty("format").GetString());
        Assert.Equal(path, root.GetProperty("path").GetString());
        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(6, tensors.Count);
        long parameters = 0;
        foreach (var t in tensors)
        {
            string name = t.GetProperty("name").GetString()!;
            var exp = expected.RootElement.GetProperty("tensors").GetProperty(name);
            Assert.Equal(exp.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            double sum = t.GetProperty("sum").GetDouble();
            double fsum = exp.GetProperty("sum_fsum").GetDouble();
            // float64 accumulation of ≤16k float32 values: error ≲ n·u·Σ|x| ≈ 1e-12·Σ|x|.
            Assert.Equal(fsum, sum, 1e-10 * exp.GetProperty("sum_abs_fsum").GetDouble());
            Assert.Equal(exp.GetProperty("min").GetDouble(), t.GetProperty("min").GetDouble());
            Assert.Equal(exp.GetProperty("max").GetDouble(), t.GetProperty("max").GetDouble());
            Assert.Equal(0, t.GetProperty("nan").GetInt64());
            parameters += exp.GetProperty("numel").GetInt64();
        }
        Assert.Equal(parameters, root.GetProperty("parameters").GetInt64());
        Assert.Equal(parameters * 4, root.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void InspectJson_NonFiniteValues_WrittenAsStrings()
    {
        string path = SharedData.Require("safetensors/dtypes.safetensors");
        var r = CliRunner.Run("inspect", path, "--stats", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);   // would throw on a bare NaN
        var strings = doc.RootElement.GetProperty("tensors").EnumerateArray()
            .SelectMany(t => t.EnumerateObject()).Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => p.Value.GetString()).ToHashSet();
        Assert.Contains("NaN", strings);
        Assert.Contains(doc.RootElement.GetProperty("tensors").EnumerateArray(), t => t.GetProperty("nan").GetInt64() > 0);
    }

    [Fact]
    public void InspectTable_FilterKeepsOnlyMatchingTensors()
    {
        var r = CliRunner.Run("inspect", SharedData.Require("torch/mlp_state_dict.pt"), "--filter", "bias$");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("fc1.bias", r.Stdout);
        Assert.DoesNotContain("fc1.weight", r.Stdout);
        Assert.Contains("pytorch", r.Stdout);
    }

    [Fact]
    public void Convert_TorchToShardedBf16_WritesIndexAndRoundedValues()
    {
        string src = SharedData.Require("torch/mlp_state_dict.pt");
        string dir = Path.Combine(SharedData.TempFolder(), "out");
        var r = CliRunner.Run("convert", src, dir, "--dtype", "bf16", "--shard-size", "40KB");
        Assert.Equal(0, r.ExitCode);
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors.index.json")));
        using var original = Checkpoint.Open(src);
        using var converted = Checkpoint.Open(dir);
        Assert.True(Directory.GetFiles(dir, "*.safetensors").Length > 1);
        foreach (var t in original.Tensors)
        {
            Assert.Equal(DType.BF16, converted.GetInfo(t.Name).DType);
            float[] a = original.ReadSingle(t.Name), b = converted.ReadSingle(t.Name);
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - b[i]) <= Math.Abs(a[i]) * (1.0 / 256), $"{t.Name}[{i}]: {a[i]} vs {b[i]}");   // bf16: 8 significant bits
        }
    }

    [Fact]
    public void Convert_MaliciousInput_ExitsOneAndWritesNothing()
    {
        string dir = SharedData.TempFolder();
        string output = Path.Combine(dir, "out.safetensors");
        var r = CliRunner.Run("convert", SharedData.Require("torch/malicious/stack_global_protocol4_zip.pt"), output);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("posix.system", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Theory]
    [InlineData("--dtype", "int4")]
    [InlineData("--shard-size", "lots")]
    [InlineData("--shard-size", "0")]
    public void Convert_BadOptionValue_ExitsTwoNamingOption(string option, string value)
    {
        string output = Path.Combine(SharedData.TempFolder(), "out.safetensors");
        var r = CliRunner.Run("convert", SharedData.Require("safetensors/mlp.safetensors"), output, option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(option, r.Stderr);
        Assert.False(File.Exists(output));
    }
}
