using WeightSpace.Cli;

namespace WeightSpace.Tests.Cli;

/// <summary>Runs the weightspace command line in-process and captures what it prints.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs <paramref name="args"/> and asserts exit <paramref name="code"/> with one line on stderr containing
    /// <paramref name="message"/> (usage errors add the standard "Run 'weightspace --help'" hint line).</summary>
    public static void ExpectOneLineError(string[] args, int code, string message)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == code, $"{string.Join(' ', args)}: exit {r.ExitCode}: {r.Stderr}");
        var lines = r.Stderr.Trim().Split('\n');
        Assert.Contains(message, lines[0]);
        Assert.True(lines.Length == 1 || (code == 2 && lines is [_, var hint] && hint.Contains("--help", StringComparison.Ordinal)), r.Stderr);
    }

    public static Result Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = WeightSpaceCommandLine.Run(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }
}
