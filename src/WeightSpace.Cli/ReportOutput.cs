namespace WeightSpace.Cli;

/// <summary>The <c>--report FILE.html</c> option shared by the analysis verbs, and writing the report it asks for.</summary>
internal static class ReportOutput
{
    public static Option<string?> CreateOption() => new("--report")
    {
        Description = "Also write a self-contained HTML report (plots, tables, this command line) to FILE.html, with its JSON and CSV beside it.",
    };

    /// <summary>Fails before a long analysis if the report cannot be written where asked.</summary>
    public static void Validate(string? path)
    {
        if (path is null) return;
        if (!path.EndsWith(".html", StringComparison.OrdinalIgnoreCase) && !path.EndsWith(".htm", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--report {path}: the report is an .html file");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"--report {path}: folder {dir} does not exist");
    }

    /// <summary>Writes a report of <paramref name="sections"/> to <paramref name="path"/> and says so on stderr.</summary>
    public static void Write(CliContext context, string path, string title, string subtitle, IEnumerable<ReportSection> sections, IEnumerable<ReportFinding> findings)
    {
        var report = new HtmlReport(title) { Subtitle = subtitle, CommandLine = context.CommandLine };
        report.Sections.AddRange(sections);
        report.Findings.AddRange(findings);
        var written = report.Write(path);
        context.Error.WriteLine($"report: {written[0]} (+ {written.Count - 1} JSON/CSV files)");
    }
}
