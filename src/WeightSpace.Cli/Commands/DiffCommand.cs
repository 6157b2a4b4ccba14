using WeightSpace.Analysis.Quantization;
using WeightSpace.Analysis.Compatibility;
using WeightSpace.Reports.TaskVectors;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace diff BASE FT… [--json] [--plots DIR] [--top K] [--skip-mismatched]</c>: the task-vector report.</summary>
internal static class DiffCommand
{
    public static Command Create(CliContext context)
    {
        var baseArg = new Argument<string>("base") { Description = "The base model θ₀." };
        var models = new Argument<string[]>("models") { Description = "Fine-tuned models of the same architecture.", Arity = ArgumentArity.OneOrMore };
        var json = CommonOptions.Json("Write the full report as one JSON document to stdout.");
        var top = new Option<int>("--top") { Description = "How many tensors and layer groups to list, largest relative change first.", DefaultValueFactory = _ => 10 };
        var plots = new Option<string?>("--plots") { Description = "Write SVG and PNG plots (relative change and top-1% mass by layer group, cosine and sign-agreement matrices, cosine by group, singular values of the most changed 2-D τ) into DIR; for a quantised model against its reference, relative L2 error and SNR by layer and role and the error distribution." };
        var reportPath = ReportOutput.CreateOption();
        var skip = new Option<bool>("--skip-mismatched") { Description = "Analyse the tensors every model shares with the base instead of failing on mismatches (which are listed first)." };
        var shard = new Option<string?>("--shard") { Description = "Analyse only shard I of N (I/N, 1-based; tensors split by estimated cost) and write the part to --part; `weightspace combine` joins the parts into the --json document (see `weightspace slurm diff`)." };
        var part = new Option<string?>("--part") { Description = "With --shard: the part file to write (JSON, atomic)." };
        var command = new Command("diff", """
            What each fine-tune changed relative to a base: per tensor and layer group ‖Δ‖, ‖Δ‖/‖θ₀‖, top-1%/10% share of
            Σ|Δ|, effective rank and top singular values of 2-D Δ; pairwise cosine and sign agreement between the task
            vectors; and the layers that changed most. Mismatched names or shapes are listed before any data is read.

            Examples:
              weightspace diff base.safetensors ft_a.safetensors ft_b.safetensors
              weightspace diff base/ ft/ --json --top 20 > diff.json
              weightspace diff base.safetensors ft_a.safetensors ft_b.safetensors --plots diff-plots/
              weightspace diff model-f32.gguf model-Q4_K_M.gguf     (quantisation error: relative L2, SNR, max |error|)
              weightspace diff base/ lora-adapter/                  (a PEFT adapter folder: base vs base + s·B·A)

            With one model whose tensors are block-quantised (GGUF Q4_K, …) where the base's are not, the report is the
            quantisation error per tensor, by role and by layer instead.
            """) { baseArg, models, json, top, plots, skip, reportPath, shard, part };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            int k = pr.GetValue(top);
            if (k < 1) throw new UsageException($"--top {k} must be at least 1");
            string? plotDir = pr.GetValue(plots);
            if (plotDir is not null && File.Exists(plotDir)) throw new UsageException($"--plots {plotDir}: is a file; give a directory");
            var shardSpec = SpectrumCommand.ParseShard(pr.GetValue(shard), pr.GetValue(part));
            if (shardSpec is not null && (plotDir is not null || htmlPath is not null || pr.GetValue(json)))
                throw new UsageException("--shard writes a part for `weightspace combine`; --json, --plots and --report belong to the combine step or a single run");
            {
                // A PEFT adapter folder stands for its base with the adapter merged in (issue #15), one tensor at a time.
                string[] modelPaths = pr.GetValue(models)!;
                string basePath = pr.GetValue(baseArg)!;
                using var all = OpenedModels.Open(new[] { basePath }.Concat(modelPaths).Select(p => (p, p)), basePath, "BASE");
                var baseStore = all[basePath];
                var fineTuned = modelPaths.Select(m => all[m]).ToList();
                var mismatches = ModelCompatibility.Check(baseStore, fineTuned);
                if (mismatches.Count > 0 && !pr.GetValue(skip))
                    throw new ModelMismatchException(mismatches.Select(m => m.ToString()).ToArray());
                if (shardSpec is { } spec)
                {
                    bool quantized = fineTuned.Count == 1 && QuantizationErrorReport.Applies(baseStore, fineTuned[0]);
                    var written = quantized
                        ? QuantizationShards.AnalyzeShard(baseStore, fineTuned[0], spec)
                        : TaskVectorShards.AnalyzeShard(baseStore, fineTuned, spec, new TaskVectorOptions { SkipMismatched = pr.GetValue(skip) }, k);
                    written.Write(pr.GetValue(part)!);
                    context.Out.WriteLine($"wrote shard {spec} ({written.Items.Count} of {written.AllItems.Count} tensors) to {pr.GetValue(part)}");
                    return WeightSpaceCommandLine.Ok;
                }
                if (fineTuned.Count == 1 && QuantizationErrorReport.Applies(baseStore, fineTuned[0]))
                {
                    var quantization = QuantizationErrorReport.Compute(baseStore, fineTuned[0]);
                    if (htmlPath is not null)
                    {
                        var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
                        var section = WeightSpace.Reports.Html.Sections.QuantizationErrorSection.Build(quantization, context.CommandLine, findings);
                        ReportOutput.Write(context, htmlPath, "WeightSpace diff", $"{Path.GetFileName(fineTuned[0].Path)} against {Path.GetFileName(baseStore.Path)}: quantisation error", [section], findings);
                    }
                    IReadOnlyList<string> quantPlots = [];
                    if (plotDir is not null)
                    {
                        try { quantPlots = WeightSpace.Reports.Quantization.QuantizationErrorPlots.WriteAll(quantization, plotDir); }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                        {
                            throw new WeightSpaceException($"--plots {plotDir}: cannot write the plots: {e.Message}", e);
                        }
                    }
                    if (pr.GetValue(json)) JsonStdout.Write(context, s => WeightSpace.Reports.Json.QuantizationErrorJson.Write(s, quantization));
                    else
                    {
                        WriteQuantization(context.Console, quantization, k);
                        if (plotDir is not null) context.Console.WriteLine($"wrote {quantPlots.Count} plot files into {plotDir}");
                    }
                    return WeightSpaceCommandLine.Ok;
                }
                var options = new TaskVectorOptions { SkipMismatched = pr.GetValue(skip) };
                var report = TaskVectorAnalysis.Analyze(baseStore, fineTuned, options);
                if (htmlPath is not null)
                {
                    var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
                    var section = WeightSpace.Reports.Html.Sections.TaskVectorSection.Build(report, "task-vectors", "Task vectors", context.CommandLine, findings);
                    ReportOutput.Write(context, htmlPath, "WeightSpace diff", $"{string.Join(", ", pr.GetValue(models)!.Select(Path.GetFileName))} against {Path.GetFileName(baseStore.Path)}", [section], findings);
                }
                IReadOnlyList<string> plotted = [];
                if (plotDir is not null)
                {
                    try
                    {
                        var grids = WeightSpace.Reports.Transformer.LayerRolePlots.DiffGrids(report);
                        plotted = [.. TaskVectorPlots.WriteAll(report, plotDir), .. WeightSpace.Reports.Transformer.LayerRolePlots.WriteAll(grids, plotDir)];
                        if (grids.Count == 0) context.Error.WriteLine($"--plots: {WeightSpace.Reports.Transformer.LayerRolePlots.FallbackNote}");
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new WeightSpaceException($"--plots {plotDir}: cannot write the plots: {e.Message}", e);
                    }
                }
                if (pr.GetValue(json)) JsonStdout.Write(context, stdout => TaskVectorReportJson.Write(stdout, report, options.TopFractions, mismatches, k));
                else
                {
                    WriteText(context.Console, report, options, mismatches, k);
                    if (plotDir is not null) context.Console.WriteLine($"wrote {plotted.Count} plot files into {plotDir}");
                }
                return WeightSpaceCommandLine.Ok;
            }
        }));
        return command;
    }

    private static void WriteText(IAnsiConsole console, TaskVectorReport report, TaskVectorOptions options, IReadOnlyList<TensorMismatch> mismatches, int k)
    {
        if (mismatches.Count > 0)
        {
            console.MarkupLine($"[yellow]{mismatches.Count} mismatch(es), left out:[/]");
            foreach (var m in mismatches) console.WriteLine($"  {m}");
        }
        var labels = report.Models.Select((m, i) => $"M{i + 1}").ToArray();
        for (int i = 0; i < labels.Length; i++) console.WriteLine($"{labels[i]} = {report.Models[i]}");
        console.WriteLine($"base = {report.BaseModel}");

        var whole = new Table().Border(TableBorder.Simple).Title("whole model");
        whole.AddColumn("model");
        whole.AddColumn(new TableColumn("‖Δ‖").RightAligned());
        whole.AddColumn(new TableColumn("‖Δ‖/‖θ₀‖").RightAligned());
        foreach (double f in options.TopFractions) whole.AddColumn(new TableColumn($"top {Pct(f)} mass").RightAligned());
        for (int i = 0; i < labels.Length; i++)
        {
            var m = report.Whole.Models[i];
            whole.AddRow([labels[i], G(m.Norm), G(m.RelativeChange), .. m.TopMassFractions.Select(G)]);
        }
        console.Write(whole);
        if (labels.Length > 1)
        {
            console.Write(Matrix("cosine between task vectors (whole model)", labels, report.Whole.Cosine));
            console.Write(Matrix("sign agreement (share of entries, whole model)", labels, report.Whole.SignAgreement));
        }

        var ranking = new Table().Border(TableBorder.Simple).Title($"layers that changed most (top {k} of {report.Groups.Count})");
        ranking.AddColumn("group");
        ranking.AddColumn(new TableColumn("mean ‖Δ‖/‖θ₀‖").RightAligned());
        foreach (var l in labels) ranking.AddColumn(new TableColumn($"{l} ‖Δ‖/‖θ₀‖").RightAligned());
        if (labels.Length > 1) ranking.AddColumn(new TableColumn("cos(M1,M2)").RightAligned());
        foreach (var g in report.LayerRanking.Take(k))
        {
            var row = new List<string> { Markup.Escape(g.Name), G(g.MeanRelativeChange) };
            row.AddRange(g.Models.Select(m => G(m.RelativeChange)));
            if (labels.Length > 1) row.Add(G(g.Cosine[0][1]));
            ranking.AddRow(row.ToArray());
        }
        console.Write(ranking);

        var tensors = new Table().Border(TableBorder.Simple).Title($"tensors (top {k} of {report.Tensors.Count} by mean ‖Δ‖/‖θ₀‖)");
        tensors.AddColumn("tensor");
        tensors.AddColumn("model");
        tensors.AddColumn(new TableColumn("‖Δ‖").RightAligned());
        tensors.AddColumn(new TableColumn("‖Δ‖/‖θ₀‖").RightAligned());
        foreach (double f in options.TopFractions) tensors.AddColumn(new TableColumn($"top {Pct(f)}").RightAligned());
        tensors.AddColumn(new TableColumn("eff. rank").RightAligned());
        tensors.AddColumn("top σ of Δ");
        foreach (var t in report.Tensors.OrderByDescending(t => t.MeanRelativeChange).ThenBy(t => t.Name, StringComparer.Ordinal).Take(k))
        {
            for (int i = 0; i < labels.Length; i++)
            {
                var m = t.Models[i];
                tensors.AddRow([i == 0 ? Markup.Escape(t.Name) : "", labels[i], G(m.Norm), G(m.RelativeChange), .. m.TopMassFractions.Select(G),
                    m.EffectiveRank is double r ? G(r) : "", string.Join(" ", m.TopSingularValues.Take(4).Select(G))]);
            }
        }
        console.Write(tensors);
    }

    private static void WriteQuantization(IAnsiConsole console, QuantizationErrorReport report, int k)
    {
        console.WriteLine($"quantisation error of {report.QuantizedPath} against {report.ReferencePath}");
        var s = report.Summary;
        console.WriteLine($"{s.TensorCount} quantised tensors: relative L2 mean {G(s.MeanRelativeL2)}, max {G(s.MaxRelativeL2)}; mean SNR {G(s.MeanSnrDb)} dB");
        foreach (var (title, groups) in new[] { ("by role", report.ByRole), ("by layer", report.ByLayer) })
        {
            var table = new Table().Border(TableBorder.Simple).Title(title);
            table.AddColumn("group");
            table.AddColumn(new TableColumn("tensors").RightAligned());
            table.AddColumn(new TableColumn("mean rel. L2").RightAligned());
            table.AddColumn(new TableColumn("max rel. L2").RightAligned());
            table.AddColumn(new TableColumn("mean SNR dB").RightAligned());
            foreach (var g in groups) table.AddRow(Markup.Escape(g.Group), g.TensorCount.ToString(CultureInfo.InvariantCulture), G(g.MeanRelativeL2), G(g.MaxRelativeL2), G(g.MeanSnrDb));
            console.Write(table);
        }
        var tensors = new Table().Border(TableBorder.Simple).Title($"tensors (top {k} of {report.Tensors.Count} by relative L2)");
        tensors.AddColumn("tensor");
        tensors.AddColumn("dtype");
        tensors.AddColumn(new TableColumn("rel. L2").RightAligned());
        tensors.AddColumn(new TableColumn("SNR dB").RightAligned());
        tensors.AddColumn(new TableColumn("max |err|").RightAligned());
        foreach (var t in report.Tensors.OrderByDescending(t => t.RelativeL2).ThenBy(t => t.Name, StringComparer.Ordinal).Take(k))
            tensors.AddRow(Markup.Escape(t.Name), $"{t.ReferenceDType.ToSafetensorsName()}→{t.QuantizedDType.ToSafetensorsName()}", G(t.RelativeL2), G(t.SnrDb), G(t.MaxAbsError));
        console.Write(tensors);
    }

    private static Table Matrix(string title, string[] labels, double[][] values)
    {
        var table = new Table().Border(TableBorder.Simple).Title(title);
        table.AddColumn("");
        foreach (var l in labels) table.AddColumn(new TableColumn(l).RightAligned());
        for (int i = 0; i < labels.Length; i++) table.AddRow([labels[i], .. values[i].Select(G)]);
        return table;
    }

    private static string Pct(double f) => (f * 100).ToString("G3", CultureInfo.InvariantCulture) + "%";

    private static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
