using System.Text.RegularExpressions;
using System.CommandLine.Parsing;

namespace WeightSpace.Cli;

/// <summary>The options several verbs share, each made by one factory so its name, description and validation are the
/// same everywhere. Bad values are System.CommandLine parse errors (exit 2) whose message names the option as typed.</summary>
internal static class CommonOptions
{
    /// <summary><c>--json</c>: results as one JSON document on stdout.</summary>
    public static Option<bool> Json(string description = "Write one JSON document to stdout instead of a table.") => new("--json") { Description = description };

    /// <summary><c>--csv FILE</c>: the results also as CSV, one row per <paramref name="rowNoun"/>.</summary>
    public static Option<string?> Csv(string rowNoun) => new("--csv") { Description = $"Also write one CSV row per {rowNoun} to FILE." };

    /// <summary><c>--output</c>/<c>-o FILE</c>, required: where the verb writes its result.</summary>
    public static Option<string> Output(string description) => new("--output", "-o") { Description = description, Required = true };

    /// <summary><c>--filter REGEX</c>: a .NET regular expression over tensor names, checked when parsed.</summary>
    public static Option<Regex?> Filter(string description = "Only tensors whose name matches this regular expression.") => new("--filter")
    {
        Description = description,
        CustomParser = r => Single(r) is { Length: > 0 } text ? ParseOrError(r, () => CliValues.ParseRegex(OptionName(r), text)) : null,
    };

    /// <summary>A floating-point output dtype (<c>--dtype</c>, <c>--out-dtype</c>): f32, f16, bf16 or f64.</summary>
    public static Option<DType?> FloatDType(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r => Single(r) is { } text ? ParseOrError<DType?>(r, () => CliValues.ParseFloatDType(OptionName(r), text)) : null,
    };

    /// <summary>A size in bytes with an optional unit (<c>--shard-size</c>), with mergekit's spellings: see
    /// <see cref="CliValues.ParseSize"/>.</summary>
    public static Option<long?> Size(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r => Single(r) is { } text ? ParseOrError<long?>(r, () => CliValues.ParseSize(OptionName(r), text)) : null,
    };

    /// <summary><c>--threads N</c> with a default, validated to 1…256.</summary>
    public static Option<int> Threads(int defaultValue, string description = "Worker threads.")
    {
        var option = new Option<int>("--threads") { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r => CheckThreads(r, r.GetValueOrDefault<int>()));
        return option;
    }

    /// <summary><c>--threads N</c> whose absence means "let the library choose" (e.g. all cores).</summary>
    public static Option<int?> OptionalThreads(string description)
    {
        var option = new Option<int?>("--threads") { Description = description };
        option.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is { } n) CheckThreads(r, n); });
        return option;
    }

    /// <summary>An option whose value is one of a fixed set of words, each mapped to a typed value; aliases are
    /// accepted, the first word of each value is shown in help and in the error message.</summary>
    public static Option<T> Choice<T>(string name, string description, string defaultWord, params (string Word, T Value)[] choices)
    {
        var option = new Option<T>(name)
        {
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => Lookup(choices, defaultWord)!,
            CustomParser = r =>
            {
                string text = Single(r) ?? defaultWord;
                if (choices.FirstOrDefault(c => string.Equals(c.Word, text, StringComparison.OrdinalIgnoreCase)) is { Word: not null } hit) return hit.Value;
                r.AddError($"{OptionName(r)} '{text}' is not one of {string.Join(", ", Words(choices))}");
                return default;
            },
        };
        option.CompletionSources.Add(Words(choices).ToArray());
        return option;
    }

    private static IEnumerable<string> Words<T>((string Word, T Value)[] choices) =>
        choices.DistinctBy(c => c.Value).Select(c => c.Word);

    private static T? Lookup<T>((string Word, T Value)[] choices, string word) =>
        choices.First(c => string.Equals(c.Word, word, StringComparison.OrdinalIgnoreCase)).Value;

    private static void CheckThreads(OptionResult r, int n)
    {
        if (n is < 1 or > 256) r.AddError($"--threads {n} must be between 1 and 256");
    }

    private static string? Single(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;

    private static string OptionName(ArgumentResult r) => r.Parent is OptionResult o ? o.IdentifierToken?.Value ?? o.Option.Name : r.Argument.Name;

    private static T? ParseOrError<T>(ArgumentResult r, Func<T> parse)
    {
        try { return parse(); }
        catch (UsageException e) { r.AddError(e.Message); return default; }
    }
}
