using WeightSpace.Cli.Commands;

namespace WeightSpace.Cli;

/// <summary>Builds the <c>weightspace</c> root command from the list of verbs and runs it.</summary>
public static class WeightSpaceCommandLine
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;
    /// <summary>Exit code for bad input: a missing, malformed or mismatched file, tensor or model.</summary>
    public const int BadInput = 1;
    /// <summary>Exit code for a usage error: unknown command or option, bad option value.</summary>
    public const int UsageError = 2;

    /// <summary>Parses <paramref name="args"/>, runs the chosen verb and returns its exit code.</summary>
    /// <param name="args">Command-line arguments without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors and progress go.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var context = new CliContext(stdout, stderr);
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show stack traces on errors.", Recursive = true };
        var root = new RootCommand("""
            WeightSpace: analyse neural networks through their weights.

            Examples:
              weightspace demo                                   the whole toolkit on the models in data/, as an HTML report
              weightspace inspect model.safetensors --stats
              weightspace convert model.pt model.safetensors --dtype bf16
              weightspace spectrum model.onnx --report spectra.html
              weightspace merge --method ties --base base.safetensors --models a.safetensors b.safetensors --density 0.5 -o merged/
              weightspace lmc a.safetensors b.safetensors --model a.onnx --data digits/ --align --plot lmc.svg

            Every command takes --json for pipelines (where it prints results), and the analyses take --report FILE.html.
            Exit codes: 0 ok, 1 bad input (one line on stderr naming the file, tensor or option), 2 usage error,
            3 internal error (a bug: please report it; --verbose prints the stack trace), 130 interrupted.
            """) { verbose };
        foreach (var verb in Verbs.Create(context)) root.Subcommands.Add(verb);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"error: {error.Message}");
            stderr.WriteLine("Run 'weightspace --help' for usage.");
            return UsageError;
        }
        context.Verbose = parse.GetValue(verbose);
        context.CommandLine = "weightspace " + string.Join(' ', args.Select(QuoteArgument));
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
    }

    private static string QuoteArgument(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";

    /// <summary>Exit code for an internal error: an exception no library documents, i.e. a bug in WeightSpace. The message says
    /// so and asks for a report; <c>--verbose</c> adds the stack trace.</summary>
    public const int InternalError = 3;

    /// <summary>Exit code after Ctrl+C or SIGTERM (128 + SIGINT), with nothing half-written left behind.</summary>
    public const int Cancelled = 130;

    /// <summary>Runs a verb's body and maps failures to one line on stderr and an exit code.</summary>
    internal static int Guard(CliContext context, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UsageException e) { return Fail(context, e, UsageError); }
        catch (WeightSpaceException e) { return Fail(context, e, BadInput); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            return Fail(context, e, BadInput);
        }
        catch (OperationCanceledException e) { return Fail(context, e, Cancelled); }
        catch (Exception e)
        {
            context.Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
            context.Error.WriteLine("This is a bug in WeightSpace; please report it with the command line" +
                (context.Verbose ? " and this stack trace:" : " (rerun with --verbose for the stack trace)."));
            if (context.Verbose) context.Error.WriteLine(e);
            return InternalError;
        }
    }

    private static int Fail(CliContext context, Exception e, int code)
    {
        context.Error.WriteLine($"error: {e.Message}");
        if (context.Verbose) context.Error.WriteLine(e);
        return code;
    }
}
