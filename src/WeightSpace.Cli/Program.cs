namespace WeightSpace.Cli;

/// <summary>Entry point of the <c>weightspace</c> tool.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns the exit code (0 ok, 1 bad input, 2 usage error, 3 internal error).</summary>
    public static int Main(string[] args) => WeightSpaceCommandLine.Run(args, Console.Out, Console.Error);
}
