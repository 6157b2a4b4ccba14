using WeightSpace.Analysis.Similarity;
using WeightSpace.Reports.Similarity;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace similarity MODEL [--against B] [--text FILE] [--windows N] [--json] [--csv F] [--plots DIR]</c>.</summary>
internal static class SimilarityCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "A Hugging Face model folder (a checkpoint suffices without --text)." };
        var against = new Option<string?>("--against") { Description = "A second model of the same architecture: compare the same block of both." };
        var text = new Option<string?>("--text") { Description = "A UTF-8 text: compare hidden states (without it, only the weight-only variant runs)." };
        var windows = new Option<int>("--windows") { Description = "Windows of 128 tokens taken from the text's start (samples = windows × 128).", DefaultValueFactory = _ => 32 };
        var json = CommonOptions.Json();
        var csv = CommonOptions.Csv("comparison");
        var plots = new Option<string?>("--plots") { Description = "Write the across-depth figure (SVG and PNG) into DIR." };
        var command = new Command("similarity", """
            Layer similarity: linear CKA (Kornblith et al. 2019), the linearity score of "Your Transformer is Secretly
            Linear" (Razzhigaev et al. 2024) and orthogonal-Procrustes similarity, between each block's input and output
            hidden states on a text, and between the same state of two models; plus a weight-only variant (matrices
            compared as representations of their input coordinates). docs/transformer.md has the definitions.

            Examples:
              weightspace similarity data/llm/base --text data/llm/eval/prose.txt
              weightspace similarity data/llm/ft-python --against data/llm/base --text data/llm/eval/python.txt --json
              weightspace similarity model.safetensors --against other.safetensors
            """) { model, against, text, windows, json, csv, plots };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int w = pr.GetValue(windows);
            if (w < 1) throw new UsageException($"--windows {w} must be at least 1");
            string? csvPath = pr.GetValue(csv), plotDir = pr.GetValue(plots), textPath = pr.GetValue(text);
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            if (textPath is not null && !File.Exists(textPath)) throw new FileNotFoundException($"--text {textPath}: no such file", textPath);
            string modelPath = pr.GetValue(model)!, againstPath = pr.GetValue(against)!;
            // Paths or hub ids, checked before any work (a missing or uncached model is one line naming it).
            foreach (string p in againstPath is null ? [modelPath] : (string[])[modelPath, againstPath]) Checkpoint.ResolveLocal(p);
            var report = LayerSimilarity.Analyze(modelPath, againstPath, textPath, new LayerSimilarityOptions { MaxWindows = w });
            if (csvPath is not null) AtomicFile.Write(csvPath, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                SimilarityReportWriter.WriteCsv(writer, report);
            });
            var figures = plotDir is null ? [] : SimilarityReportWriter.WritePlots(report, plotDir);
            if (pr.GetValue(json)) { JsonStdout.WriteObject(context, wr => SimilarityReportWriter.WriteJson(wr, report)); return WeightSpaceCommandLine.Ok; }
            Write(context, "Block input → output (hidden states, " + report.Samples.ToString(CultureInfo.InvariantCulture) + " tokens)", report.Blocks);
            Write(context, $"{report.Against}: block input → output", report.AgainstBlocks);
            Write(context, $"Same state, {report.Model} vs {report.Against}", report.CrossModel);
            Write(context, "Weights: each matrix vs the same role in the next block", report.ConsecutiveWeights);
            Write(context, $"Weights: {report.Model} vs {report.Against}", report.CrossModelWeights);
            if (csvPath is not null) context.Console.WriteLine($"wrote {csvPath}");
            if (figures.Count > 0) context.Console.WriteLine($"wrote {figures.Count} figure (SVG and PNG) into {plotDir}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static void Write(CliContext context, string title, IReadOnlyList<LayerPairSimilarity> rows)
    {
        if (rows.Count == 0) return;
        context.Console.WriteLine(title);
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("pair");
        foreach (string c in (string[])["CKA", "linearity", "Procrustes"]) table.AddColumn(new TableColumn(c).RightAligned());
        string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Label), F(r.Scores.Cka), F(r.Scores.Linearity), r.Scores.Procrustes is double p ? F(p) : "–");
        context.Console.Write(table);
    }
}
