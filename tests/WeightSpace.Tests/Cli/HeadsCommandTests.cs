using System.Text.Json;

namespace WeightSpace.Tests.Cli;

public sealed class HeadsCommandTests
{
    [Fact]
    public void Heads_of_the_tiny_llama_read_the_GQA_layout_from_config_and_rank_the_changed_heads()
    {
        string ft = SharedData.Require("llm/ft-python"), b = SharedData.RequireModel("llm/base");
        string dir = SharedData.TempFolder();
        string csv = Path.Combine(dir, "heads.csv");
        var r = CliRunner.Run("heads", ft, "--against", b, "--layer", "1", "--top", "3", "--json", "--csv", csv);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(8, root.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(2, root.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(32, root.GetProperty("head_dim").GetInt32());
        var heads = root.GetProperty("heads").EnumerateArray().ToList();
        Assert.Equal(8, heads.Count);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], heads.Select(h => h.GetProperty("kv_head").GetInt32()));
        Assert.All(heads, h => Assert.InRange(h.GetProperty("qk_relative_change").GetDouble(), 1e-4, 10));
        Assert.Equal(3, root.GetProperty("most_changed").GetArrayLength());
        Assert.Equal(9, File.ReadAllLines(csv).Length);
    }

    [Theory]
    [InlineData("--layer", "9", "--layer: 9 is out of range")]
    [InlineData("--heads", "8", "--kv-heads", "3", "does not divide")]
    public void Hostile_options_are_one_line_and_exit_1(params string[] args)
    {
        string b = SharedData.RequireModel("llm/base");
        var r = CliRunner.Run(["heads", b, .. args[..^1]]);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains(args[^1], r.Stderr);
    }
}
