using System.Text.Json;
using WeightSpace.Reports.Html;
using WeightSpace.Reports;

namespace WeightSpace.Tests.Reports.Html;

public sealed class HtmlReportTests
{
    private static HtmlReport Sample()
    {
        var plot = ReportPlots.Create("α by layer", "layer", "α");
        plot.Add.Scatter(new double[] { 0, 1, 2 }, new double[] { 2.5, 1.8, 4.0 });
        var section = new ReportSection("spectra", "Spectra <of> weights") { CommandLine = "weightspace spectrum m.safetensors", Description = "Which layers look over-trained?" };
        section.Figures.Add(new ReportFigure("alpha", "α per layer", ReportPlots.ToSvg(plot)));
        section.Tables.Add(new ReportTable("layers", "Layers", "name", "alpha", "evals", "ok")
            .AddRow("fc1, \"first\"", 2.5, 64L, true)
            .AddRow("fc2", double.NaN, 128L, false)
            .AddRow("fc3", null, 10, true));
        var report = new HtmlReport("Demo & test") { CommandLine = "weightspace demo" };
        report.Findings.Add(new ReportFinding("layer fc2 looks over-trained (α < 2)", FindingLevel.Warning, "spectra"));
        report.Sections.Add(section);
        return report;
    }

    [Fact]
    public void Write_HtmlJsonCsv_AllPresentAndConsistent()
    {
        string dir = SharedData.TempFolder();
        var written = Sample().Write(Path.Combine(dir, "report.html"));
        Assert.Equal(3, written.Count);
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("<?xml", html);
        Assert.Contains("Spectra &lt;of&gt; weights", html);          // escaped
        Assert.Contains("Demo &amp; test", html);
        Assert.Contains("href=\"#spectra\"", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", ""));   // no network references
        Assert.DoesNotContain("https://", html);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "report.json")));
        var rows = json.RootElement.GetProperty("sections")[0].GetProperty("tables")[0].GetProperty("rows");
        Assert.Equal("NaN", rows[1][1].GetString());
        Assert.Equal(JsonValueKind.Null, rows[2][1].ValueKind);
        Assert.Equal(64, rows[0][2].GetInt64());

        string csv = File.ReadAllText(Path.Combine(dir, "report.spectra.layers.csv"));
        Assert.Equal("name,alpha,evals,ok\r\n\"fc1, \"\"first\"\"\",2.5,64,true\r\nfc2,NaN,128,false\r\nfc3,,10,true\r\n", csv);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void AddRow_WrongCellCount_Throws() =>
        Assert.Throws<ArgumentException>(() => new ReportTable("t", "T", "a", "b").AddRow(1.0));

    [Fact]
    public void Section_BadId_Throws() =>
        Assert.Throws<ArgumentException>(() => new ReportSection("bad id!", "x"));

    [Theory]
    [InlineData(0.000123456, "1.235e-4")]
    [InlineData(2.34567, "2.346")]
    [InlineData(12345.6, "12346")]
    [InlineData(0, "0")]
    public void FormatNumber_FourSignificantDigits(double value, string expected) =>
        Assert.Equal(expected, HtmlReport.FormatNumber(value));
}
