namespace WeightSpace.Reports.Html;

/// <summary>A plot embedded in a report as inline SVG.</summary>
/// <param name="Id">Unique within its section; used in anchors and file names.</param>
/// <param name="Caption">What the plot shows, in one sentence.</param>
/// <param name="Svg">The SVG document (an <c>&lt;svg&gt;</c> element), e.g. from <see cref="ReportPlots.ToSvg"/>.</param>
public sealed record ReportFigure(string Id, string Caption, string Svg);
