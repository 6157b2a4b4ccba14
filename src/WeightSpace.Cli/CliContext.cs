namespace WeightSpace.Cli;

/// <summary>Where a command writes, and how: shared by every verb of one invocation.</summary>
internal sealed class CliContext
{
    public CliContext(TextWriter stdout, TextWriter stderr)
    {
        Out = stdout;
        Error = stderr;
        bool outIsConsole = ReferenceEquals(stdout, System.Console.Out) && !System.Console.IsOutputRedirected;
        ErrorIsTerminal = ReferenceEquals(stderr, System.Console.Error) && !System.Console.IsErrorRedirected;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = outIsConsole ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = outIsConsole ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = outIsConsole ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Redirected output keeps whole rows: pipelines and logs should not see tables wrapped at 80 columns.
        if (!outIsConsole) Console.Profile.Width = 240;
        ErrorConsole = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stderr),
            Ansi = ErrorIsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            Interactive = ErrorIsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
    }

    public TextWriter Out { get; }
    public TextWriter Error { get; }

    /// <summary>Tables and text for stdout.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Progress bars go to stderr, and only when it is a terminal (quiet in pipelines and tests).</summary>
    public IAnsiConsole ErrorConsole { get; }

    public bool ErrorIsTerminal { get; }

    /// <summary>The command line as typed (<c>weightspace …</c>), recorded in reports.</summary>
    public string CommandLine { get; set; } = "weightspace";

    /// <summary>Set from <c>--verbose</c>: errors then include the stack trace.</summary>
    public bool Verbose { get; set; }
}
