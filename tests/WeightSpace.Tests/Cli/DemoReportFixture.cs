namespace WeightSpace.Tests.Cli;

/// <summary>Runs <c>weightspace demo</c> once (on the committed data/ of this checkout) for every test that looks at
/// its report.</summary>
public sealed class DemoReportFixture
{
    public DemoReportFixture()
    {
        OutputFolder = SharedData.TempFolder();
        Result = CliRunner.Run("demo", "--out", OutputFolder);
    }

    public string OutputFolder { get; }
    public CliRunner.Result Result { get; }
    public string ReportPath => Path.Combine(OutputFolder, "report.html");
    public string JsonPath => Path.Combine(OutputFolder, "report.json");

    /// <summary>Section ids the demo must produce, in order.</summary>
    public static readonly string[] Sections = ["inspect", "spectra", "task-vectors", "silero-diff", "merges", "rebasin", "llm-merges"];
}

[CollectionDefinition(Name)]
public sealed class DemoReportCollection : ICollectionFixture<DemoReportFixture>
{
    public const string Name = "demo report";
}
