using WeightSpace.Cli.Demo;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace demo [--out DIR] [--data DIR]</c>: the whole toolkit on the real models in <c>data/</c>.</summary>
internal static class DemoCommand
{
    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data") { Description = "Folder with the demo models (default: data/ of the WeightSpace checkout)." };
        var output = new Option<string>("--out", "-o") { Description = "Folder for report.html and its JSON/CSV.", DefaultValueFactory = _ => "weightspace-demo" };
        var command = new Command("demo", """
            Run WeightSpace end to end on the small real models in data/ (inspect, spectra, task vectors, merges scored on
            held-out digits, Git Re-Basin alignment and loss curves) and write one self-contained HTML report.

            Example:
              weightspace demo --out demo-report
            """) { data, output };
        command.SetAction((pr, ct) => Task.FromResult(WeightSpaceCommandLine.Guard(context, () =>
        {
            string folder = pr.GetValue(data) ?? FindDataFolder();
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: demo data folder not found (pass --data DIR)");
            string outDir = Path.GetFullPath(pr.GetValue(output)!);
            context.Out.WriteLine($"WeightSpace demo: models from {folder}");
            var runner = new DemoRunner(folder, outDir, line => { context.Out.WriteLine(line); context.Out.Flush(); });
            var written = runner.Run(ct);
            context.Out.WriteLine($"report: {runner.ReportPath}");
            context.Out.WriteLine($"data:   {string.Join(", ", written.Skip(1).Select(Path.GetFileName))}");
            return WeightSpaceCommandLine.Ok;
        })));
        return command;
    }

    /// <summary>data/ of the checkout: found above the running binary (dotnet run) or under the current folder.</summary>
    internal static string FindDataFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "WeightSpace.sln")) && Directory.Exists(Path.Combine(dir.FullName, "data")))
                return Path.Combine(dir.FullName, "data");
        return Path.Combine(Directory.GetCurrentDirectory(), "data");
    }
}
