using WeightSpace.Analysis.Quantization;
using WeightSpace.Analysis.Sharding;
using WeightSpace.Reports.TaskVectors;
using WeightSpace.Reports.Spectra;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace combine PART… -o RESULT.json [--report FILE.html] [--expect N] [--logs DIR]</c>: joins
/// the parts of a sharded run (<c>--shard I/N --part FILE</c>) into the result one run gives (issue #18).</summary>
internal static class CombineCommand
{
    public static Command Create(CliContext context)
    {
        var parts = new Argument<string[]>("parts") { Description = "The part files of one run (every shard once).", Arity = ArgumentArity.OneOrMore };
        var output = CommonOptions.Output("The combined result (JSON, as the single run's --json prints it; for lora-extract parts the adapter folder), written atomically.");
        var force = new Option<bool>("--force") { Description = "lora-extract parts: replace a non-empty adapter folder." };
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
              weightspace diff base/ ft/ --shard 1/2 --part d1.json   (and 2/2)
              weightspace combine d1.json d2.json -o diff.json
              weightspace lora extract base/ ft/ -r 16 --shard 1/2 --part l1.json   (and 2/2)
              weightspace combine l1.json l2.json -o adapter/
              weightspace neurons ft/ --against base/ --shard 1/2 --part n1.json   (and 2/2)
              weightspace combine n1.json n2.json -o neurons.json --report neurons.html

            Verbs: spectrum, diff (task vectors or quantisation error), lora-extract (writes the PEFT adapter folder),
            neurons, outliers (without --text).
            """) { parts, output, expect, logs, reportPath, force };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string outPath = pr.GetValue(output)!;
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            // The report writes its data as STEM.json beside the page: that must not be the result it is reporting.
            if (htmlPath is not null && string.Equals(Path.GetFullPath(Path.ChangeExtension(htmlPath, ".json")), Path.GetFullPath(outPath), StringComparison.Ordinal))
                throw new UsageException($"--report {htmlPath} writes its data to {Path.ChangeExtension(htmlPath, ".json")}, which is -o {outPath}: give the report another name");
            if (pr.GetValue(expect) is < 1) throw new UsageException($"--expect {pr.GetValue(expect)} must be at least 1");
            var combined = PartCombiner.Combine(pr.GetValue(parts)!, pr.GetValue(expect), pr.GetValue(logs));
            string verb = combined.Header.Verb;
            if (htmlPath is not null && verb is not (SpectrumShards.Verb or TaskVectorShards.Verb or NeuronShards.Verb or OutlierShards.Verb))
                throw new UsageException($"--report: parts of '{verb}' have no HTML report; drop --report");
            switch (verb)
            {
                case SpectrumShards.Verb:
                    CombineSpectrum(context, combined, outPath, htmlPath);
                    break;
                case TaskVectorShards.Verb:
                {
                    var (report, fractions, ranking) = TaskVectorShards.Combine(combined);
                    WeightSpace.IO.AtomicFile.Write(outPath, stream => TaskVectorReportJson.Write(stream, report, fractions, null, ranking));
                    if (htmlPath is not null)
                    {
                        var findings = new List<ReportFinding>();
                        var section = WeightSpace.Reports.Html.Sections.TaskVectorSection.Build(report, "task-vectors", "Task vectors", context.CommandLine, findings);
                        ReportOutput.Write(context, htmlPath, "WeightSpace diff", $"{string.Join(", ", report.Models.Select(Path.GetFileName))} against {Path.GetFileName(report.BaseModel)} ({combined.Header.Shard.Count} shards)", [section], findings);
                    }
                    break;
                }
                case QuantizationShards.Verb:
                {
                    var report = QuantizationShards.Combine(combined);
                    WeightSpace.IO.AtomicFile.Write(outPath, stream => WeightSpace.Reports.Json.QuantizationErrorJson.Write(stream, report));
                    break;
                }
                case NeuronShards.Verb:
                {
                    var result = NeuronShards.Combine(combined);
                    var vocabulary = TokenVocabulary.TryLoadBeside(result.Model);
                    WeightSpace.IO.AtomicFile.Write(outPath, stream => NeuronsCommand.WriteJson(stream, result, vocabulary));
                    if (htmlPath is not null) NeuronsCommand.WriteReport(context, htmlPath, result, vocabulary);
                    break;
                }
                case OutlierShards.Verb:
                {
                    var (model, matrices, listed) = OutlierShards.Combine(combined);
                    var ranked = OutliersCommand.Rank(matrices);
                    WeightSpace.IO.AtomicFile.Write(outPath, stream => OutliersCommand.WriteJson(stream, model, matrices, ranked, listed, super: null));
                    if (htmlPath is not null) OutliersCommand.WriteReport(context, htmlPath, model, matrices, ranked, listed, super: null);
                    break;
                }
                case LoraExtractShards.Verb:
                {
                    MergeOutputRun.CheckOutput(outPath, pr.GetValue(force));
                    var result = LoraExtractShards.Combine(combined, outPath, pr.GetValue(force));
                    LoraCommand.WriteExtractResult(context, result, outPath, json: false, perModule: false);
                    break;
                }
                default:
                    throw new InvalidPartException(null, $"parts of '{verb}' cannot be combined by this WeightSpace (it combines: {SpectrumShards.Verb}, {TaskVectorShards.Verb}, {QuantizationShards.Verb}, {LoraExtractShards.Verb}, {NeuronShards.Verb}, {OutlierShards.Verb})");
            }
            context.Out.WriteLine($"combined {combined.Header.Shard.Count} parts ({combined.Items.Count} tensors) into {outPath}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static void CombineSpectrum(CliContext context, CombinedParts combined, string outPath, string? htmlPath)
    {
        var (report, layoutNote) = SpectrumShards.Combine(combined);
        WeightSpace.IO.AtomicFile.Write(outPath, stream => SpectrumJson.Write(stream, report, layoutNote));
        if (htmlPath is not null)
        {
            var findings = new List<ReportFinding>();
            var section = WeightSpace.Reports.Html.Sections.SpectraSection.Build(report, "spectra", $"Spectra: {Path.GetFileName(report.Path)}", context.CommandLine, findings);
            ReportOutput.Write(context, htmlPath, "WeightSpace spectrum", $"{report.Path} (layout {layoutNote}; {combined.Header.Shard.Count} shards)", [section], findings);
        }
    }
}
