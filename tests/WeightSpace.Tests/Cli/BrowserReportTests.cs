using System.Text.Json;
using Microsoft.Playwright;

namespace WeightSpace.Tests.Cli;

/// <summary>Opens the demo report in headless Chromium (Debian's, which .ci/run installs) and checks what a reader
/// would see: every plot drawn with a non-zero size, no console errors, no network requests.</summary>
[Collection(DemoReportCollection.Name)]
public sealed class BrowserReportTests(DemoReportFixture demo)
{
    private static readonly string[] ChromiumFlags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private static string? FindChromium()
    {
        string? env = Environment.GetEnvironmentVariable("WEIGHTSPACE_CHROMIUM");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
    }

    [Fact]
    public async Task DemoReport_InHeadlessChromium_EveryPlotRendersWithoutErrorsOrNetwork()
    {
        string? chromium = FindChromium();
        if (chromium is null) Assert.Skip("Chromium is not installed (.ci/run installs Debian's chromium); set WEIGHTSPACE_CHROMIUM to use another.");
        Assert.True(demo.Result.ExitCode == 0, demo.Result.Stderr);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ChromiumFlags,
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var consoleErrors = new List<string>();
        var requests = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };
        page.PageError += (_, e) => consoleErrors.Add(e);
        page.Request += (_, r) => requests.Add(r.Url);

        string url = new Uri(demo.ReportPath).AbsoluteUri;
        await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load });

        using var json = JsonDocument.Parse(File.ReadAllText(demo.JsonPath));
        int expectedFigures = json.RootElement.GetProperty("sections").EnumerateArray().Sum(s => s.GetProperty("figures").GetArrayLength());
        var sizes = await page.EvaluateAsync<double[][]>(
            "Array.from(document.querySelectorAll('figure svg')).map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height, s.querySelectorAll('path,rect,text').length]; })");
        Assert.Equal(expectedFigures, sizes.Length);
        Assert.True(expectedFigures >= 8, $"only {expectedFigures} figures");
        Assert.All(sizes, s =>
        {
            Assert.True(s[0] > 100 && s[1] > 100, $"an SVG rendered at {s[0]}×{s[1]}");
            Assert.True(s[2] > 10, "an SVG has almost no drawing elements");
        });

        // Sorting works: clicking a numeric header orders the column.
        await page.ClickAsync("#merges table th:nth-child(6)");
        var column = await page.EvaluateAsync<double[]>("Array.from(document.querySelectorAll('#merges table tbody tr td:nth-child(6)')).map(td => parseFloat(td.dataset.v))");
        Assert.Equal(column.Order().ToArray(), column);

        Assert.Empty(consoleErrors);
        Assert.All(requests, r => Assert.StartsWith("file://", r));

        string screenshot = Path.Combine(demo.OutputFolder, "report-screenshot.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 50_000);
        // CI keeps the screenshot as an artifact where it is told to (.ci/run sets this); tests write nowhere else.
        string? artifacts = Environment.GetEnvironmentVariable("WEIGHTSPACE_ARTIFACTS");
        if (!string.IsNullOrEmpty(artifacts))
        {
            Directory.CreateDirectory(artifacts);
            File.Copy(screenshot, Path.Combine(artifacts, "demo-report.png"), overwrite: true);
        }
    }
}
