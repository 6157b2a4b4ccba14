using WeightSpace.Analysis.Heads;
using WeightSpace.Reports.Heads;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace heads MODEL [--against BASE] [--layer L] [--top K] [--heads N] [--kv-heads N] [--json] [--csv F] [--plots DIR]</c>.</summary>
internal static class HeadsCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "A checkpoint or Hugging Face folder (config.json gives the head counts; GGUF files carry them)." };
        var against = new Option<string?>("--against") { Description = "A baseline of the same architecture: rank heads by ‖ΔW_QK‖_F/‖W_QK‖_F and ‖ΔW_OV‖_F/‖W_OV‖_F." };
        var layer = new Option<int?>("--layer") { Description = "Only this block." };
        var top = new Option<int>("--top") { Description = "Heads listed as most changed (with --against), and singular values listed per circuit in JSON/CSV.", DefaultValueFactory = _ => 8 };
        var heads = new Option<int?>("--heads") { Description = "num_attention_heads, when no config.json or GGUF metadata gives it (or to override it)." };
        var kvHeads = new Option<int?>("--kv-heads") { Description = "num_key_value_heads (default: --heads, i.e. no grouped-query attention)." };
        var json = CommonOptions.Json();
        var csv = CommonOptions.Csv("head");
        var plots = new Option<string?>("--plots") { Description = "Write layer × head heatmaps (SVG and PNG) into DIR." };
        var command = new Command("heads", """
            Attention heads through their weights (data-free, GQA-aware): per layer and head the spectra of the circuits
            W_QK = W_Q,hᵀ W_K,h and W_OV = W_O,h W_V,h (Elhage et al. 2021), computed exactly from thin factors without
            forming the d × d matrices: spectral and nuclear norm, Roy–Vetterli effective rank, top singular values.
            With --against, the relative change of each circuit and the heads that changed most (docs/transformer.md).

            Examples:
              weightspace heads data/llm/base
              weightspace heads data/llm/ft-python --against data/llm/base --top 10
              weightspace heads model.gguf --layer 3 --json
            """) { model, against, layer, top, heads, kvHeads, json, csv, plots };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int k = pr.GetValue(top);
            if (k < 1) throw new UsageException($"--top {k} must be at least 1");
            string? csvPath = pr.GetValue(csv), plotDir = pr.GetValue(plots), basePath = pr.GetValue(against);
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            string modelPath = pr.GetValue(model)!;
            var paths = new List<(string, string)> { ("model", modelPath) };
            if (basePath is not null) paths.Add(("base", basePath));
            // A PEFT adapter folder as MODEL is its base (--against) with the adapter merged in on read.
            using var models = OpenedModels.Open(paths, "base", "--against");
            var options = new AttentionHeadOptions { Layer = pr.GetValue(layer), HeadCount = pr.GetValue(heads), KeyValueHeadCount = pr.GetValue(kvHeads) };
            var report = AttentionHeadAnalysis.Analyze(models["model"], basePath is null ? null : models["base"], options);
            if (csvPath is not null) AtomicFile.Write(csvPath, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                HeadReportCsv.Write(writer, report, k);
            });
            var figures = plotDir is null ? [] : HeadPlots.WriteAll(report, plotDir);
            if (pr.GetValue(json)) JsonStdout.WriteObject(context, w => HeadReportJson.WriteProperties(w, report, k, k));
            else WriteTables(context, report, k, csvPath, figures.Count, plotDir);
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static void WriteTables(CliContext context, AttentionHeadReport report, int top, string? csvPath, int figures, string? plotDir)
    {
        var l = report.Layout;
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.Model}: {l.HeadCount} heads, {l.KeyValueHeadCount} KV heads, head_dim {l.HeadDim}, hidden {report.HiddenSize}, {report.Heads.Count} heads analysed"));
        var table = new Table().Border(TableBorder.Simple);
        foreach (string c in (string[])["layer", "head", "kv", "QK σ₁", "QK ‖·‖*", "QK erank", "OV σ₁", "OV ‖·‖*", "OV erank"])
            table.AddColumn(new TableColumn(c).RightAligned());
        bool change = report.Baseline is not null;
        if (change) { table.AddColumn(new TableColumn("ΔQK rel").RightAligned()); table.AddColumn(new TableColumn("ΔOV rel").RightAligned()); }
        foreach (var h in report.Heads)
        {
            var row = new List<string> { h.Layer.ToString(CultureInfo.InvariantCulture), h.Head.ToString(CultureInfo.InvariantCulture), h.KeyValueHead.ToString(CultureInfo.InvariantCulture),
                F(h.QueryKey.Spectral), F(h.QueryKey.Nuclear), F(h.QueryKey.EffectiveRank), F(h.OutputValue.Spectral), F(h.OutputValue.Nuclear), F(h.OutputValue.EffectiveRank) };
            if (change) row.AddRange([F(h.QueryKeyChange!.Value), F(h.OutputValueChange!.Value)]);
            table.AddRow([.. row.Select(Markup.Escape)]);
        }
        context.Console.Write(table);
        if (change)
        {
            context.Console.WriteLine($"Heads that changed most against {report.Baseline} (by the larger relative change):");
            var most = new Table().Border(TableBorder.Simple);
            foreach (string c in (string[])["layer", "head", "ΔQK rel", "ΔOV rel"]) most.AddColumn(new TableColumn(c).RightAligned());
            foreach (var h in report.MostChanged(top))
                most.AddRow(h.Layer.ToString(CultureInfo.InvariantCulture), h.Head.ToString(CultureInfo.InvariantCulture), F(h.QueryKeyChange!.Value), F(h.OutputValueChange!.Value));
            context.Console.Write(most);
        }
        if (csvPath is not null) context.Console.WriteLine($"wrote {csvPath}");
        if (figures > 0) context.Console.WriteLine($"wrote {figures} figures (SVG and PNG) into {plotDir}");
    }
}
