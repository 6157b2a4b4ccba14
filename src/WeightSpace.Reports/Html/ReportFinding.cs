namespace WeightSpace.Reports.Html;

/// <summary>One headline line of a report's summary.</summary>
/// <param name="Text">The finding, one sentence with its numbers.</param>
/// <param name="Level">How it is shown.</param>
/// <param name="SectionId">The section that backs it (linked), if any.</param>
public sealed record ReportFinding(string Text, FindingLevel Level = FindingLevel.Info, string? SectionId = null);
