using System.Text.Json;

namespace WeightSpace.Tests.Cli;

/// <summary><c>--report FILE.html</c> on the analysis verbs and the <c>report</c> verb.</summary>
public sealed class ReportOptionTests
{
    private static string Data(string relative) => Path.Combine(SharedData.RepositoryRoot, "data", relative);

    public static TheoryData<string[], string> Commands => new()
    {
        { ["spectrum", Data("digits_mlp/mlp_seed0.safetensors")], "spectra" },
        { ["lmc", Data("digits_mlp/mlp_seed0.safetensors"), Data("digits_mlp/mlp_seed1.safetensors"), "--model", Data("digits_mlp/mlp_seed0.onnx"),
            "--data", Data("datasets/digits"), "--scale", "1/16", "--points", "5", "--align"], "lmc" },
        { ["report", Data("digits_mlp/mlp_ft_fliplr.safetensors"), "--base", Data("digits_mlp/mlp_seed0.safetensors")], "task-vectors" },
        { ["diff", Data("digits_mlp/mlp_seed0.safetensors"), Data("digits_mlp/mlp_ft_fliplr.safetensors"), Data("digits_mlp/mlp_ft_invert.safetensors")], "task-vectors" },
        { ["align", Data("digits_mlp/mlp_seed0.safetensors"), Data("digits_mlp/mlp_seed1.safetensors"), "--spec", "mlp", "-o", "ALIGNED"], "alignment" },
        { ["merge", "--method", "ties", "--base", Data("digits_mlp/mlp_seed0.safetensors"), "--models", Data("digits_mlp/mlp_ft_fliplr.safetensors"),
            Data("digits_mlp/mlp_ft_invert.safetensors"), "--density", "0.5", "-o", "MERGED"], "merge" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Report_WrittenWithItsSectionAndCommandLine(string[] args, string sectionId)
    {
        string dir = SharedData.TempFolder();
        string html = Path.Combine(dir, "r.html");
        args = args.Select(a => a switch { "ALIGNED" => Path.Combine(dir, "aligned.safetensors"), "MERGED" => Path.Combine(dir, "merged"), _ => a }).ToArray();
        string[] full = args[0] == "report" ? [.. args, "-o", html] : [.. args, "--report", html];
        var r = CliRunner.Run(full);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "r.json")));
        Assert.Contains(json.RootElement.GetProperty("sections").EnumerateArray(), s => s.GetProperty("id").GetString() == sectionId);
        Assert.StartsWith("weightspace " + args[0], json.RootElement.GetProperty("command").GetString());
        Assert.Contains("<svg", File.ReadAllText(html));
    }

    [Fact]
    public void Report_NotHtml_ExitsTwoAndWritesNothing()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("spectrum", Data("digits_mlp/mlp_seed0.safetensors"), "--report", Path.Combine(dir, "r.pdf"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--report", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void ReportVerb_MismatchedBase_ExitsOneBeforeWriting()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run("report", Data("digits_mlp/mlp_seed0.safetensors"), "--base", Data("ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"), "-o", Path.Combine(dir, "r.html"));
        Assert.Equal(1, r.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }
}
