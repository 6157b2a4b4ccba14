using System.Text.Json;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Cli;

public sealed class RanksCompressSimilarityCommandTests
{
    [Fact]
    public void Ranks_json_feeds_compress_which_keeps_the_bf16_dtype_and_copies_config_and_tokenizer()
    {
        string b = SharedData.RequireModel("llm/base");
        var ranks = CliRunner.Run("ranks", b, "--roles", "q,k", "--json");
        Assert.True(ranks.ExitCode == 0, ranks.Stderr);
        using var doc = JsonDocument.Parse(ranks.Stdout);
        var matrices = doc.RootElement.GetProperty("matrices").EnumerateArray().ToList();
        Assert.Equal(8, matrices.Count);
        Assert.All(matrices, m => Assert.True(m.GetProperty("rank_energy_90").GetInt32() <= m.GetProperty("rank_energy_99").GetInt32()));
        string dir = SharedData.TempFolder();
        string file = Path.Combine(dir, "ranks.json");
        File.WriteAllText(file, "{\"ranks\": " + doc.RootElement.GetProperty("suggested_ranks").GetRawText() + "}");
        string output = Path.Combine(dir, "out");
        var compress = CliRunner.Run("compress", b, "--rank-profile", file, "-o", output);
        Assert.True(compress.ExitCode == 0, compress.Stderr);
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        using var compressed = Checkpoint.Open(output);
        using var original = Checkpoint.Open(b);
        Assert.Equal(original.Tensors.Select(t => (t.Name, t.DType, t.Shape)), compressed.Tensors.Select(t => (t.Name, t.DType, t.Shape)));
        Assert.Equal(DType.BF16, compressed.GetInfo("model.layers.0.self_attn.q_proj.weight").DType);
        Assert.Equal(original.ReadSingle("model.layers.0.mlp.up_proj.weight"), compressed.ReadSingle("model.layers.0.mlp.up_proj.weight"));
        Assert.NotEqual(original.ReadSingle("model.layers.0.self_attn.q_proj.weight"), compressed.ReadSingle("model.layers.0.self_attn.q_proj.weight"));
    }

    [Fact]
    public void Compress_of_a_quantised_gguf_writes_float32_with_its_config_and_tokenizer()
    {
        // Used to be an internal error (exit 3): the uncompressed Q8_0 tensors were handed to safetensors as Q8_0.
        string dir = SharedData.TempFolder(), gguf = Path.Combine(dir, "base-q8_0.gguf"), output = Path.Combine(dir, "compressed");
        WeightSpace.Formats.Gguf.GgufHfImport.Write(SharedData.RequireModel("llm/base-f32"), gguf, DType.Q8_0);
        var r = CliRunner.Run("compress", gguf, "--rank-profile", "energy:0.95", "-o", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var written = Checkpoint.Open(output);
        using var source = Checkpoint.Open(gguf);
        Assert.All(written.Tensors, t => Assert.Equal(DType.F32, t.DType));
        Assert.Equal(source.ReadSingle("lm_head.weight"), written.ReadSingle("lm_head.weight"));   // not a target: dequantised as stored
        Assert.True(File.Exists(Path.Combine(output, "config.json")) && File.Exists(Path.Combine(output, "tokenizer.json")));
        var eval = CliRunner.Run("eval", output, "--text", SharedData.Require("llm/eval/python.txt"), "--max-windows", "1");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
    }

    [Theory]
    [InlineData("energy:2", "--rank-profile: 'energy:2'")]
    [InlineData("BAD_FILE", "is not valid JSON")]
    public void A_bad_rank_profile_is_one_line_exit_1_and_writes_nothing(string spec, string message)
    {
        string b = SharedData.RequireModel("llm/base");
        string dir = SharedData.TempFolder();
        if (spec == "BAD_FILE") { spec = Path.Combine(dir, "bad.json"); File.WriteAllText(spec, "{\"model.layers.0"); }
        string output = Path.Combine(dir, "out");
        var r = CliRunner.Run("compress", b, "--rank-profile", spec, "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Similarity_verb_writes_json_with_every_comparison()
    {
        string b = SharedData.RequireModel("llm/base"), text = SharedData.Require("llm/eval/prose.txt");
        var r = CliRunner.Run("similarity", b, "--text", text, "--windows", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(256, doc.RootElement.GetProperty("samples").GetInt32());
        Assert.Equal(4, doc.RootElement.GetProperty("consecutive_blocks").GetArrayLength());
        Assert.Equal(21, doc.RootElement.GetProperty("weights_consecutive").GetArrayLength());
    }
}
