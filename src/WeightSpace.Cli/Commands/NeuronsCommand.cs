using WeightSpace.Reports.Neurons;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace neurons MODEL [--against BASE] [--layer L] [--top K] [--json] [--csv F] [--plots DIR]</c>.</summary>
internal static class NeuronsCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "A checkpoint or Hugging Face model folder (its tokenizer.json names the tokens)." };
        var against = new Option<string?>("--against") { Description = "A checkpoint of the same architecture to compare with (e.g. the base of a fine-tune)." };
        var layer = new Option<int?>("--layer") { Description = "Decode only this block index." };
        var top = new Option<int>("--top") { Description = "Tokens per neuron (1…1024).", DefaultValueFactory = _ => 10 };
        var matrix = CommonOptions.Filter("Decode the tensors matching this regular expression instead of the MLP down projections (e.g. 'up_proj').");
        matrix.Aliases.Add("--matrix");
        var noNorm = new Option<bool>("--no-final-norm") { Description = "Project onto the raw unembedding (Dar et al.) instead of applying the final norm's weight first (logit lens)." };
        var changed = new Option<int>("--most-changed") { Description = "Neurons listed as changed most with --against.", DefaultValueFactory = _ => 20 };
        var show = new Option<int>("--show") { Description = "Neurons printed per layer in the table (all are in --json and --csv).", DefaultValueFactory = _ => 8 };
        var json = CommonOptions.Json();
        var csv = CommonOptions.Csv("neuron");
        var plots = new Option<string?>("--plots") { Description = "Write SVG and PNG plots into DIR." };
        var report = ReportOutput.CreateOption();
        var shard = new Option<string?>("--shard") { Description = "Decode only shard I of N (I/N, 1-based; layers split by estimated cost) and write the part to --part; `weightspace combine` joins the parts into the --json document (see `weightspace slurm neurons`)." };
        var part = new Option<string?>("--part") { Description = "With --shard: the part file to write (JSON, atomic)." };
        var command = new Command("neurons", """
            Read each MLP neuron as tokens, without data: its output direction (a column of down_proj) projected onto the
            unembedding (lm_head, or the tied embeddings) after the final norm's weight, top-k tokens per neuron. With
            --against, the share of neurons whose top-1 token stayed the same and the neurons that changed most
            (docs/neurons-and-outliers.md). Streams one layer at a time.

            Examples:
              weightspace neurons base/ --layer 0 --top 5
              weightspace neurons ft-python/ --against base/ --csv neurons.csv --plots plots/
              weightspace neurons model/ --matrix 'up_proj' --json
              weightspace neurons ft/ --against base/ --shard 1/2 --part n1.json   (and 2/2; then combine n1.json n2.json -o n.json)
            """) { model, against, layer, top, matrix, noNorm, changed, show, json, csv, plots, report, shard, part };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int k = pr.GetValue(top);
            if (k is < 1 or > 1024) throw new UsageException($"--top {k} must be between 1 and 1024");
            int most = pr.GetValue(changed);
            if (most < 0) throw new UsageException($"--most-changed {most} must be at least 0");
            int shown = pr.GetValue(show);
            if (shown < 0) throw new UsageException($"--show {shown} must be at least 0");
            string? csvPath = pr.GetValue(csv), plotDir = pr.GetValue(plots), htmlPath = pr.GetValue(report);
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            ReportOutput.Validate(htmlPath);
            var shardSpec = SpectrumCommand.ParseShard(pr.GetValue(shard), pr.GetValue(part));
            if (shardSpec is not null && (csvPath is not null || plotDir is not null || htmlPath is not null || pr.GetValue(json)))
                throw new UsageException("--shard writes a part for `weightspace combine`; --json, --csv, --plots and --report belong to the combine step or a single run");
            var options = new NeuronDecodingOptions
            {
                TopK = k,
                Layer = pr.GetValue(layer),
                Matrix = pr.GetValue(matrix),
                ApplyFinalNorm = !pr.GetValue(noNorm),
                MostChanged = most,
            };
            string modelPath = pr.GetValue(model)!, basePath = pr.GetValue(against) ?? "";
            // A PEFT adapter folder as MODEL is its base (--against) with the adapter merged in on read.
            using var models = OpenedModels.Open(basePath.Length > 0 ? [("model", modelPath), ("base", basePath)] : [("model", modelPath)], "base", "--against");
            var store = models["model"];
            var baseline = basePath.Length > 0 ? models["base"] : null;
            if (shardSpec is { } spec)
            {
                var written = NeuronShards.AnalyzeShard(store, baseline, options, spec);
                written.Write(pr.GetValue(part)!);
                context.Out.WriteLine($"wrote shard {spec} ({written.Items.Count} of {written.AllItems.Count} matrices) to {pr.GetValue(part)}");
                return WeightSpaceCommandLine.Ok;
            }
            // The baseline shares the vocabulary (its unembedding is compared row for row): an adapter folder has no tokenizer of its own.
            var vocabulary = TokenVocabulary.TryLoadBeside(store.Path) ?? (baseline is null ? null : TokenVocabulary.TryLoadBeside(baseline.Path));
            int matrices = store.Tensors.Count(t => t.Name.Contains("down", StringComparison.Ordinal) || t.Name.Contains("c_proj", StringComparison.Ordinal));
            var result = ProgressBars.Run<int, NeuronDecoding>(context, "neurons", Math.Max(1, matrices),
                p => NeuronDecoder.Decode(store, baseline, options, p), done => done);

            if (csvPath is not null) NeuronsCsv.WriteFile(csvPath, result, vocabulary);
            IReadOnlyList<string> plotted = plotDir is null ? [] : NeuronPlots.WriteAll(result, vocabulary, plotDir);
            if (htmlPath is not null) WriteReport(context, htmlPath, result, vocabulary);
            if (pr.GetValue(json))
            {
                JsonStdout.Write(context, s => WriteJson(s, result, vocabulary));
                return WeightSpaceCommandLine.Ok;
            }
            WriteTables(context.Console, result, vocabulary, shown);
            if (csvPath is not null) context.Console.WriteLine($"wrote {csvPath}");
            if (plotDir is not null) context.Console.WriteLine($"wrote {plotted.Count} plot files into {plotDir}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary>The <c>--json</c> document (and its final newline): what <c>combine</c> writes for neuron parts.</summary>
    internal static void WriteJson(Stream stream, NeuronDecoding result, TokenVocabulary? vocabulary)
    {
        NeuronsJson.Write(result, vocabulary, stream);
        stream.Write("\n"u8);
    }

    /// <summary>The <c>--report</c> page, for a single run and for <c>combine</c>.</summary>
    internal static void WriteReport(CliContext context, string htmlPath, NeuronDecoding result, TokenVocabulary? vocabulary)
    {
        var findings = new List<ReportFinding>();
        var section = NeuronsSection.Build(result, vocabulary, context.CommandLine, findings);
        ReportOutput.Write(context, htmlPath, "WeightSpace neurons", result.Baseline is null ? result.Model : $"{result.Model} vs {result.Baseline}", [section], findings);
    }

    private static void WriteTables(IAnsiConsole console, NeuronDecoding result, TokenVocabulary? vocabulary, int shown)
    {
        console.WriteLine($"unembedding {result.Unembedding}, final norm {result.FinalNorm ?? "not applied"}, top {result.TopK} tokens" +
            (vocabulary is null ? " (no tokenizer.json beside the model: ids shown as #id)" : ""));
        if (shown > 0)
        {
            var table = new Table().Border(TableBorder.Simple);
            table.AddColumn(new TableColumn("layer").RightAligned());
            table.AddColumn(new TableColumn("neuron").RightAligned());
            table.AddColumn("top tokens");
            foreach (var layer in result.Layers)
                for (int j = 0; j < Math.Min(shown, layer.NeuronCount); j++)
                    table.AddRow(Layer(layer.Layer), j.ToString(CultureInfo.InvariantCulture), Markup.Escape(NeuronTokensText.List(vocabulary, layer.Tokens(j))));
            console.Write(table);
        }
        if (result.Baseline is null) return;
        var layers = new Table().Border(TableBorder.Simple);
        layers.AddColumn("tensor");
        layers.AddColumn(new TableColumn("neurons").RightAligned());
        layers.AddColumn(new TableColumn("top-1 unchanged").RightAligned());
        layers.AddColumn(new TableColumn("share").RightAligned());
        foreach (var l in result.Layers)
            layers.AddRow(Markup.Escape(l.Tensor), l.NeuronCount.ToString(CultureInfo.InvariantCulture), (l.Top1Unchanged ?? 0).ToString(CultureInfo.InvariantCulture),
                (l.ShareTop1Unchanged ?? 0).ToString("P1", CultureInfo.InvariantCulture));
        layers.AddRow("all", result.NeuronCount.ToString(CultureInfo.InvariantCulture), "", (result.ShareTop1Unchanged ?? 0).ToString("P1", CultureInfo.InvariantCulture));
        console.Write(layers);
        if (result.MostChanged.Count == 0) return;
        var changed = new Table().Border(TableBorder.Simple).Title("neurons that changed most (lowest top-k overlap, then lowest logit cosine)");
        changed.AddColumn(new TableColumn("layer").RightAligned());
        changed.AddColumn(new TableColumn("neuron").RightAligned());
        changed.AddColumn(new TableColumn("overlap").RightAligned());
        changed.AddColumn(new TableColumn("cosine").RightAligned());
        changed.AddColumn("tokens now");
        changed.AddColumn("baseline tokens");
        foreach (var c in result.MostChanged)
            changed.AddRow(Layer(c.Layer), c.Neuron.ToString(CultureInfo.InvariantCulture), c.TopKOverlap.ToString("F2", CultureInfo.InvariantCulture),
                c.LogitCosine.ToString("F3", CultureInfo.InvariantCulture), Markup.Escape(NeuronTokensText.List(vocabulary, c.TokenIds, 5)),
                Markup.Escape(NeuronTokensText.List(vocabulary, c.BaselineTokenIds, 5)));
        console.Write(changed);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"top-1 token unchanged: {result.ShareTop1Unchanged:P1} of {result.NeuronCount} neurons"));
    }

    private static string Layer(int? layer) => layer?.ToString(CultureInfo.InvariantCulture) ?? "-";
}
