namespace WeightSpace.Tests.Cli;

public sealed class CommandLineTests
{
    [Fact]
    public void UnknownVerb_ExitsWithUsageError()
    {
        var r = CliRunner.Run("frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("frobnicate", r.Stderr);
    }

    [Fact]
    public void Inspect_MissingFile_ExitsOneAndNamesFile()
    {
        string missing = Path.Combine(SharedData.TempFolder(), "nope.safetensors");
        var r = CliRunner.Run("inspect", missing);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nope.safetensors", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);   // no stack trace without --verbose
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Inspect_UnrecognisedContent_ExitsOneAndSaysWhy()
    {
        string path = Path.Combine(SharedData.TempFolder(), "notes.safetensors");
        File.WriteAllText(path, "these are not weights");
        var r = CliRunner.Run("inspect", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("notes.safetensors", r.Stderr);
        Assert.Contains("chosen by content", r.Stderr);
    }

    [Fact]
    public void Inspect_BadFilterRegex_ExitsWithUsageError()
    {
        string path = Path.Combine(SharedData.TempFolder(), "x.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        var r = CliRunner.Run("inspect", path, "--filter", "([");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--filter", r.Stderr);
    }

    [Fact]
    public void Help_ListsVerbsWithExamples()
    {
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("inspect", r.Stdout);
        Assert.Contains("Examples:", r.Stdout);
    }
}
