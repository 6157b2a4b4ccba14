using System.CommandLine;
using WeightSpace.Analysis.Sharding;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Reports.Html;
using WeightSpace.Reports.Spectra;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace combine PART… -o RESULT.json [--report FILE.html] [--expect N] [--logs DIR]</c>: joins
/// the parts of a sharded run (<c>--shard I/N --part FILE</c>) into the result one run gives (issue #18).</summary>
internal static class CombineCommand
{
    public static Command Create(CliContext context)
    {
        var parts = new Argument<string[]>("parts") { Description = "The part files of one run (every shard once).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "The combined result (JSON, as the single run's --json prints it), written atomically.", Required = true };
        var expect = new Option<int?>("--expect") { Description = "The run's shard count: a part of another count, or a shard without a part, is an error." };
        var logs = new Option<string?>("--logs") { Description = "Folder of the array tasks' logs, named in the message about a missing shard." };
        var reportPath = ReportOutput.CreateOption();
        var command = new Command("combine", """
            Join the parts of a sharded analysis into the result of a single run: the same JSON (apart from timings
            and host names), the same report. Refuses parts of different models, options or versions, and names
            every shard that has no part (and its log, with --logs).

            Examples:
              weightspace spectrum model.safetensors --shard 1/2 --part p1.json
              weightspace spectrum model.safetensors --shard 2/2 --part p2.json
              weightspace combine p1.json p2.json -o spectra.json --report spectra.html
            """) { parts, output, expect, logs, reportPath };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string outPath = pr.GetValue(output)!;
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            if (pr.GetValue(expect) is < 1) throw new UsageException($"--expect {pr.GetValue(expect)} must be at least 1");
            var combined = PartCombiner.Combine(pr.GetValue(parts)!, pr.GetValue(expect), pr.GetValue(logs));
            if (combined.Header.Verb != SpectrumShards.Verb)
                throw new InvalidPartException(null, $"parts of '{combined.Header.Verb}' cannot be combined by this WeightSpace (it combines: {SpectrumShards.Verb})");
            var (report, layoutNote) = SpectrumShards.Combine(combined);
            WeightSpace.IO.AtomicFile.Write(outPath, stream => SpectrumJson.Write(stream, report, layoutNote));
            if (htmlPath is not null)
            {
                var findings = new List<ReportFinding>();
                var section = WeightSpace.Reports.Html.Sections.SpectraSection.Build(report, "spectra", $"Spectra: {Path.GetFileName(report.Path)}", context.CommandLine, findings);
                ReportOutput.Write(context, htmlPath, "WeightSpace spectrum", $"{report.Path} (layout {layoutNote}; {combined.Header.Shard.Count} shards)", [section], findings);
            }
            context.Out.WriteLine($"combined {combined.Header.Shard.Count} parts ({combined.Items.Count} tensors) into {outPath}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }
}
