using WeightSpace.Reports.Neurons;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace outliers MODEL [--top N] [--text FILE…] [--json] [--csv F]</c>.</summary>
internal static class OutliersCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "A checkpoint, or a Hugging Face model folder (needed for --text)." };
        var top = new Option<int>("--top") { Description = "Largest weights kept per matrix (1…10000).", DefaultValueFactory = _ => 5 };
        var list = new Option<int>("--list") { Description = "Outliers printed over all matrices, by |w| / RMS.", DefaultValueFactory = _ => 20 };
        var filter = CommonOptions.Filter();
        var text = new Option<string[]>("--text", "-t") { Description = "UTF-8 texts: detect the super weight on the first (Yu et al. 2024) and measure the perplexity of each with it, and with the top outlier, zeroed.", AllowMultipleArgumentsPerToken = true };
        var maxWindows = new Option<int?>("--max-windows") { Description = "Score only the first N windows of each text (quick checks; the default scores all, as `eval`)." };
        var probe = new Option<int>("--probe-windows") { Description = "Windows of the first text fed to find the activation spikes.", DefaultValueFactory = _ => 4 };
        var json = CommonOptions.Json();
        var csv = CommonOptions.Csv("outlier");
        var report = ReportOutput.CreateOption();
        var shard = new Option<string?>("--shard") { Description = "Scan only shard I of N (I/N, 1-based; matrices split by size) and write the part to --part; `weightspace combine` joins the parts into the --json document (see `weightspace slurm outliers`). Not with --text." };
        var part = new Option<string?>("--part") { Description = "With --shard: the part file to write (JSON, atomic)." };
        var command = new Command("outliers", """
            Outlier weights: the largest-magnitude weights of every matrix with their coordinates and |w| / RMS (data-free).
            With --text, the super weight of Yu et al. 2024: the down_proj weight [r, c] behind the largest down_proj output
            activation (hidden channel r; c = the input channel with the largest activation at that token), and the
            perplexity of each text with it zeroed (docs/neurons-and-outliers.md).

            Examples:
              weightspace outliers base/ --top 3
              weightspace outliers base/ --text eval/prose.txt eval/python.txt eval/c.txt --json
              weightspace outliers base/ --shard 1/2 --part o1.json   (and 2/2; then combine o1.json o2.json -o outliers.json)
            """) { model, top, list, filter, text, probe, maxWindows, json, csv, report, shard, part };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int n = pr.GetValue(top);
            if (n is < 1 or > 10_000) throw new UsageException($"--top {n} must be between 1 and 10000");
            int listed = pr.GetValue(list);
            if (listed < 0) throw new UsageException($"--list {listed} must be at least 0");
            int windows = pr.GetValue(probe);
            if (windows < 1) throw new UsageException($"--probe-windows {windows} must be at least 1");
            string? csvPath = pr.GetValue(csv), htmlPath = pr.GetValue(report);
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            ReportOutput.Validate(htmlPath);
            int? m = pr.GetValue(maxWindows);
            if (m is < 1) throw new UsageException($"--max-windows {m} must be at least 1");
            string[] texts = pr.GetValue(text) ?? [];
            foreach (string t in texts) if (!File.Exists(t)) throw new FileNotFoundException($"--text {t}: no such file", t);
            var shardSpec = SpectrumCommand.ParseShard(pr.GetValue(shard), pr.GetValue(part));
            if (shardSpec is not null && (csvPath is not null || htmlPath is not null || pr.GetValue(json)))
                throw new UsageException("--shard writes a part for `weightspace combine`; --json, --csv and --report belong to the combine step or a single run");
            if (shardSpec is not null && texts.Length > 0)
                throw new UsageException("--text runs the whole model on text (the super weight) and cannot be split: drop --shard, or --text");
            string modelPath = pr.GetValue(model)!;
            IReadOnlyList<MatrixOutliers> matrices;
            using (var models = OpenedModels.Open([("model", modelPath)]))
            {
                var store = models["model"];
                var options = new OutlierScanOptions { TopPerMatrix = n, Filter = pr.GetValue(filter) };
                if (shardSpec is { } spec)
                {
                    var written = OutlierShards.AnalyzeShard(store, modelPath, options, listed, spec);
                    written.Write(pr.GetValue(part)!);
                    context.Out.WriteLine($"wrote shard {spec} ({written.Items.Count} of {written.AllItems.Count} matrices) to {pr.GetValue(part)}");
                    return WeightSpaceCommandLine.Ok;
                }
                matrices = ProgressBars.Run<int, IReadOnlyList<MatrixOutliers>>(context, "outliers", store.Tensors.Count(t => t.Shape.Rank == 2),
                    p => OutlierScan.Scan(store, options, p), done => done);
            }
            var ranked = Rank(matrices);
            SuperWeightReport? super = texts.Length == 0 ? null
                : SuperWeights.Detect(modelPath, texts, ranked.FirstOrDefault(), new WeightSpace.Analysis.Language.PerplexityOptions { MaxWindows = m }, windows);

            if (csvPath is not null) OutliersCsv.WriteFile(csvPath, matrices);
            if (htmlPath is not null) WriteReport(context, htmlPath, modelPath, matrices, ranked, listed, super);
            if (pr.GetValue(json))
            {
                JsonStdout.Write(context, s => WriteJson(s, modelPath, matrices, ranked, listed, super));
                return WeightSpaceCommandLine.Ok;
            }
            WriteTables(context.Console, ranked.Take(listed).ToList(), super);
            if (csvPath is not null) context.Console.WriteLine($"wrote {csvPath}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary>Every matrix's outliers ranked by |w| / RMS (ties: tensor name, then the matrices' order).</summary>
    internal static List<WeightOutlier> Rank(IReadOnlyList<MatrixOutliers> matrices) =>
        matrices.SelectMany(m => m.Outliers).OrderByDescending(o => o.RatioToRms).ThenBy(o => o.Tensor, StringComparer.Ordinal).ToList();

    /// <summary>The <c>--json</c> document (and its final newline): what <c>combine</c> writes for outlier parts.</summary>
    internal static void WriteJson(Stream stream, string model, IReadOnlyList<MatrixOutliers> matrices, IReadOnlyList<WeightOutlier> ranked, int listed, SuperWeightReport? super)
    {
        OutliersJson.Write(model, matrices, ranked.Take(listed).ToList(), super, stream);
        stream.Write("\n"u8);
    }

    /// <summary>The <c>--report</c> page, for a single run and for <c>combine</c>.</summary>
    internal static void WriteReport(CliContext context, string htmlPath, string model, IReadOnlyList<MatrixOutliers> matrices, IReadOnlyList<WeightOutlier> ranked, int listed, SuperWeightReport? super)
    {
        var findings = new List<ReportFinding>();
        var section = OutliersSection.Build(matrices, ranked.Take(Math.Max(listed, 1)).ToList(), super, context.CommandLine, findings);
        ReportOutput.Write(context, htmlPath, "WeightSpace outliers", model, [section], findings);
    }

    private static void WriteTables(IAnsiConsole console, IReadOnlyList<WeightOutlier> top, SuperWeightReport? super)
    {
        static string F(double v, string format = "G6") => v.ToString(format, CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Simple).Title("largest weights over all matrices, by |w| / RMS");
        table.AddColumn("tensor");
        table.AddColumn(new TableColumn("row").RightAligned());
        table.AddColumn(new TableColumn("column").RightAligned());
        table.AddColumn(new TableColumn("value").RightAligned());
        table.AddColumn(new TableColumn("|w| / RMS").RightAligned());
        foreach (var o in top)
            table.AddRow(Markup.Escape(o.Tensor), F(o.Row), F(o.Column), F(o.Value), F(o.RatioToRms, "F1"));
        console.Write(table);
        if (super is null) return;
        var spikes = new Table().Border(TableBorder.Simple).Title($"down_proj activations on {Markup.Escape(Path.GetFileName(super.ProbeText))} ({super.ProbeTokens} tokens)");
        foreach (string c in new[] { "layer", "out channel r", "max output", "÷ median", "in channel c", "max input", "down_proj[r, c]" })
            spikes.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        foreach (var s in super.Layers)
            spikes.AddRow(F(s.Layer), F(s.OutputChannel), F(s.MaxOutput), F(s.OutputRatioToMedian, "F0"), F(s.InputChannel), F(s.MaxInput), F(s.Weight));
        console.Write(spikes);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"super weight: {super.Tensor}[{super.SuperWeight.OutputChannel}, {super.SuperWeight.InputChannel}] = {super.SuperWeight.Weight:G6} (rank {super.MagnitudeRank} by |w| in its matrix, {super.RatioToRms:F1} × RMS)"));
        var effects = new Table().Border(TableBorder.Simple).Title("zeroing one weight");
        effects.AddColumn("weight");
        effects.AddColumn("text");
        foreach (string c in new[] { "bits/byte", "zeroed", "Δ", "perplexity", "zeroed" }) effects.AddColumn(new TableColumn(c).RightAligned());
        foreach (var e in super.Effects)
            effects.AddRow(Markup.Escape($"{e.Label} {e.Tensor}[{e.Row}, {e.Column}]"), Markup.Escape(Path.GetFileName(e.Text)), F(e.BitsPerByte, "F4"), F(e.ZeroedBitsPerByte, "F4"),
                (e.ZeroedBitsPerByte - e.BitsPerByte).ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture), F(e.Perplexity, "F3"), F(e.ZeroedPerplexity, "F3"));
        console.Write(effects);
    }
}
