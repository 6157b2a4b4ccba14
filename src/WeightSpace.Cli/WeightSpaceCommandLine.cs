using System.CommandLine;

namespace WeightSpace.Cli;

/// <summary>Builds the <c>weightspace</c> root command from the list of verbs and runs it.</summary>
public static class WeightSpaceCommandLine
{
    /// <summary>Parses <paramref name="args"/>, runs the chosen verb and returns its exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("WeightSpace: analyse neural networks through their weights.");
        return root.Parse(args).Invoke();
    }
}
