namespace WeightSpace.Reports.Html;

/// <summary>One analysis in a report: what was run (with its exact command line), its plots, tables and notes.</summary>
public sealed class ReportSection
{
    /// <summary>Creates a section.</summary>
    /// <param name="id">Anchor id: letters, digits and dashes.</param>
    /// <param name="title">Heading.</param>
    public ReportSection(string id, string title)
    {
        if (string.IsNullOrEmpty(id) || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw new ArgumentException($"Section id '{id}' must be letters, digits and dashes.", nameof(id));
        Id = id;
        Title = title;
    }

    /// <summary>Anchor id.</summary>
    public string Id { get; }
    /// <summary>Heading.</summary>
    public string Title { get; }
    /// <summary>A paragraph saying what the section answers.</summary>
    public string? Description { get; set; }
    /// <summary>The exact command line that reproduces this section.</summary>
    public string? CommandLine { get; set; }
    /// <summary>Plots, in order.</summary>
    public List<ReportFigure> Figures { get; } = [];
    /// <summary>Tables, in order.</summary>
    public List<ReportTable> Tables { get; } = [];
    /// <summary>Short remarks shown under the tables (caveats, definitions).</summary>
    public List<string> Notes { get; } = [];
}
