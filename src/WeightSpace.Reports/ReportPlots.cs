using ScottPlot;

namespace WeightSpace.Reports;

/// <summary>Turns ScottPlot plots into SVG for reports, with the project's font and size defaults.</summary>
public static class ReportPlots
{
    static ReportPlots()
    {
        // ScottPlot's default resolves to DejaVu Serif on Debian (TOOLCHAIN.md); sans-serif reads better in figures.
        Fonts.Default = "DejaVu Sans";
    }

    /// <summary>Default figure width in pixels.</summary>
    public const int Width = 640;
    /// <summary>Default figure height in pixels.</summary>
    public const int Height = 400;

    /// <summary>A new plot with the report style applied.</summary>
    public static Plot Create(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title, size: 15);
        plot.XLabel(xLabel, size: 13);
        plot.YLabel(yLabel, size: 13);
        return plot;
    }

    /// <summary>Renders <paramref name="plot"/> as an SVG document.</summary>
    public static string ToSvg(Plot plot, int width = Width, int height = Height) => plot.GetSvgXml(width, height);

    /// <summary>Writes <paramref name="plot"/> as SVG and PNG next to each other (<c>stem.svg</c>, <c>stem.png</c>),
    /// each through a temp file and a rename.</summary>
    public static void Save(Plot plot, string stem, int width = Width, int height = Height)
    {
        AtomicFile.WriteAllText(stem + ".svg", ToSvg(plot, width, height));
        AtomicFile.WriteAllBytes(stem + ".png", plot.GetImageBytes(width, height, ImageFormat.Png));
    }
}
