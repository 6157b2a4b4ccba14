using System.CommandLine;
using Spectre.Console;
using WeightSpace.Analysis.Statistics;
using WeightSpace.Formats;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace demo [--data DIR]</c>: runs the toolkit over the models committed in <c>data/</c>.</summary>
internal static class DemoCommand
{
    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data") { Description = "Folder with the demo models (default: data/ of the WeightSpace checkout)." };
        var command = new Command("demo", """
            Run WeightSpace end to end on the small real models in data/ and print what it found.

            Example:
              weightspace demo
            """) { data };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string folder = pr.GetValue(data) ?? FindDataFolder();
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: demo data folder not found (pass --data DIR)");
            var models = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(p => Path.GetExtension(p) is ".safetensors" or ".pt" or ".pth" or ".bin" or ".onnx")
                .Order(StringComparer.Ordinal)
                .ToList();
            if (models.Count == 0) throw new DirectoryNotFoundException($"{folder}: no models found");
            context.Console.MarkupLine($"[bold]WeightSpace demo[/] over {models.Count} models in {Markup.Escape(folder)}");
            foreach (string model in models)
            {
                using var store = Checkpoint.Open(model);
                var summary = InspectCommand.Summarise(context, store, withStats: true, filter: null);
                context.Console.WriteLine();
                context.Console.WriteLine($"== inspect {Path.GetRelativePath(folder, model)}");
                var worst = summary.Tensors.Where(t => t.Statistics is not null).MaxBy(t => t.Statistics!.L2);
                context.Console.WriteLine($"   {CheckpointSummaryJsonName(store)}: {summary.Tensors.Count} tensors, {summary.ParameterCount:N0} parameters, {InspectCommand.FormatBytes(summary.ByteCount)}");
                if (worst is not null)
                    context.Console.WriteLine($"   largest L2 norm: {worst.Info.Name} {worst.Info.Shape} = {worst.Statistics!.L2:G5}; non-finite values: {summary.Tensors.Sum(t => (t.Statistics?.NaNCount ?? 0) + (t.Statistics?.InfinityCount ?? 0))}");
            }
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static string CheckpointSummaryJsonName(TensorStore store) => Reports.Json.CheckpointSummaryJson.FormatName(store.Format);

    /// <summary>data/ of the checkout: found above the running binary (dotnet run) or under the current folder.</summary>
    internal static string FindDataFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "WeightSpace.sln")) && Directory.Exists(Path.Combine(dir.FullName, "data")))
                return Path.Combine(dir.FullName, "data");
        return Path.Combine(Directory.GetCurrentDirectory(), "data");
    }
}
