using WeightSpace.Reports.Spectra;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace spectrum PATH [--json] [--csv FILE] [--plots DIR] [--conv ww|operator|unfold] [--randomize]
/// [--layout auto|torch|tf] [--filter REGEX] [--threads N] [--precision f32|f64] [--seed N] [--fit ww|csn]
/// [--compat ww|none] [--solver gram|svd] [--include-embeddings] [--cache DIR] [--fingers]
/// [--against BASE]</c> (issues #7, #17).</summary>
internal static class SpectrumCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A checkpoint: .safetensors (or a folder/index of shards), a torch.save file, or .onnx." };
        var json = CommonOptions.Json("Write one JSON document to stdout instead of the table.");
        var jsonEigenvalues = new Option<bool>("--json-eigenvalues") { Description = "With --json, include every layer's eigenvalues (large)." };
        var csv = CommonOptions.Csv("layer");
        var plots = new Option<string?>("--plots") { Description = "Write SVG and PNG plots (ESDs, histograms, α/λ_max by layer) into DIR." };
        var conv = new Option<string>("--conv") { Description = "Conv spectrum: ww (WeightWatcher's pooled kh·kw slices), operator (true operator spectrum, Sedghi et al. 2019) or unfold (W reshaped to [out, in·kh·kw]).", DefaultValueFactory = _ => "ww" };
        var randomize = new Option<bool>("--randomize") { Description = "Also analyse each layer with its entries shuffled (correlation traps, rand distance)." };
        var layout = new Option<string>("--layout") { Description = "Weight layout: torch ([out,in,kh,kw], dense [out,in]), tf ([kh,kw,in,out], dense [in,out]) or auto (file metadata, else a shape heuristic).", DefaultValueFactory = _ => "auto" };
        var filter = new Option<string?>("--filter") { Description = "Only tensors whose name matches this regular expression (others are listed as skipped)." };
        var threads = CommonOptions.OptionalThreads("Torch threads for the SVDs (default: all cores, shared among --parallel solves).");
        var parallel = new Option<int>("--parallel") { Description = "Matrices solved at once, each on cores ÷ N torch threads. 2 overlaps one matrix's memory-bound eigvalsh with another's GEMM (≈ 1.2× faster on 7B-shaped layers, about one more matrix in memory).", DefaultValueFactory = _ => 1 };
        var precision = new Option<string>("--precision") { Description = "SVD precision: f32 or f64.", DefaultValueFactory = _ => "f32" };
        var seed = new Option<int>("--seed") { Description = "Seed of the --randomize shuffle.", DefaultValueFactory = _ => 0 };
        var fit = new Option<string?>("--fit") { Description = "α estimator: ww (WeightWatcher 0.7.5.5's WWFit, the default under --compat ww) or csn (Clauset–Shalizi–Newman with a 10-value minimum tail)." };
        var compat = new Option<string>("--compat") { Description = "Conventions: ww (WeightWatcher 0.7.5.5's analyze() defaults) or none (our principled variants: CSN fit, Tracy–Widom spike margin).", DefaultValueFactory = _ => "ww" };
        var solver = new Option<string>("--solver") { Description = "Eigenvalues: gram (eigvalsh of the smaller Gram matrix, fast) or svd (svdvals, full relative accuracy of tiny singular values).", DefaultValueFactory = _ => "gram" };
        var includeEmbeddings = new Option<bool>("--include-embeddings") { Description = "Also analyse embeddings and lm_head (WeightWatcher skips them)." };
        var cacheDir = new Option<string?>("--cache") { Description = "Keep each layer's result in DIR (keyed by the file's path, size and mtime, the tensor and the options): a rerun or an interrupted run resumes where it stopped." };
        var fingers = new Option<bool>("--fingers") { Description = "Apply the 'fingers' fix (clip up to 10 outlying largest eigenvalues before the power-law fit)." };
        var reportPath = ReportOutput.CreateOption();
        var shard = new Option<string?>("--shard") { Description = "Analyse only shard I of N (I/N, 1-based; tensors split by estimated cost) and write the part to --part; `weightspace combine` joins the parts (see `weightspace slurm`)." };
        var part = new Option<string?>("--part") { Description = "With --shard: the part file to write (JSON, atomic)." };
        var adapter = new Option<string?>("--adapter") { Description = "A PEFT adapter folder: analyse PATH with the adapter merged in (W + s·B·A, one module at a time, nothing written). An adapter folder as PATH with --against BASE compares base + adapter with the base." };
        var against = new Option<string?>("--against") { Description = "Compare PATH (fine-tuned) with this base checkpoint: per-layer Δα, Δλ_max, rank changes, subspace overlap, intruder dimensions." };
        var command = new Command("spectrum", """
            Spectral analysis of every weight matrix: eigenvalue spectra, power-law α, Marchenko–Pastur fit,
            stable/effective rank, over-/under-trained flags. Tensors that are not analysed are listed with the reason.

            Examples:
              weightspace spectrum model.safetensors
              weightspace spectrum model.onnx --json > spectra.json
              weightspace spectrum model.pt --csv layers.csv --plots plots/ --randomize
              weightspace spectrum face_model/ --layout tf --conv unfold
              weightspace spectrum llama-7b/ --cache spectra-cache/     (Ctrl+C and rerun to resume)
              weightspace spectrum model.safetensors --fit csn --compat none
              weightspace spectrum finetuned.safetensors --against base.safetensors
              weightspace spectrum base/ --adapter lora-adapter/           (spectra of W + s·B·A)
              weightspace spectrum lora-adapter/ --against base/           (Δα, intruder dimensions of the adapter)
            """) { path, json, jsonEigenvalues, csv, plots, conv, randomize, layout, filter, threads, parallel, precision, seed, fit, compat, solver, includeEmbeddings, cacheDir, fingers, against, reportPath, shard, part, adapter };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            bool wwCompat = ParseCompat(pr.GetValue(compat)!);
            var options = new SpectrumOptions
            {
                WeightWatcherCompat = wwCompat,
                Estimator = pr.GetValue(fit) is { } fitText ? ParseFit(fitText) : wwCompat ? PowerLawEstimator.WeightWatcher : PowerLawEstimator.Csn,
                Solver = ParseSolver(pr.GetValue(solver)!),
                IncludeEmbeddings = pr.GetValue(includeEmbeddings),
                CacheDirectory = pr.GetValue(cacheDir),
                ConvMode = ParseConv(pr.GetValue(conv)!),
                Precision = ParsePrecision(pr.GetValue(precision)!),
                Randomize = pr.GetValue(randomize),
                Seed = pr.GetValue(seed),
                ClipFingers = pr.GetValue(fingers),
                Filter = InspectCommand.ParseFilter(pr.GetValue(filter))?.ToString(),
                TorchThreads = pr.GetValue(threads) is { } t ? (t >= 1 ? t : throw new UsageException($"--threads {t} must be at least 1")) : null,
                MaxDegreeOfParallelism = pr.GetValue(parallel) is var n and >= 1 ? n : throw new UsageException($"--parallel {pr.GetValue(parallel)} must be at least 1"),
            };
            string? layoutText = pr.GetValue(layout);
            WeightLayout? forced = ParseLayout(layoutText!);
            string? csvPath = pr.GetValue(csv), plotDir = pr.GetValue(plots), basePath = pr.GetValue(against);
            bool asJson = pr.GetValue(json);
            if (pr.GetValue(jsonEigenvalues) && !asJson) throw new UsageException("--json-eigenvalues needs --json");
            if (basePath is not null && options.CacheDirectory is not null)
                throw new UsageException("--cache applies to a single analysis; drop --against");
            if (basePath is not null && (plotDir is not null || options.Randomize || pr.GetValue(jsonEigenvalues)))
                throw new UsageException("--against compares two checkpoints; --plots, --randomize and --json-eigenvalues apply to a single analysis");
            // Fail before a long analysis, not after it.
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            if (htmlPath is not null && basePath is not null) throw new UsageException("--report is written for a single analysis; drop --against");
            if (plotDir is null && htmlPath is null && !pr.GetValue(jsonEigenvalues)) options = options with { KeepEigenvalues = false };

            var shardSpec = ParseShard(pr.GetValue(shard), pr.GetValue(part));
            if (shardSpec is not null && (basePath is not null || csvPath is not null || plotDir is not null || htmlPath is not null || asJson))
                throw new UsageException("--shard writes a part for `weightspace combine`; --against, --csv, --plots, --report and --json belong to the combine step or a single run");

            // An adapter (issue #15) is analysed merged into its base, one module at a time (AdaptedTensorStore).
            string modelPath = pr.GetValue(path)!;
            string? adapterPath = pr.GetValue(adapter);
            bool pathIsAdapter = AdaptedTensorStore.IsAdapterFolder(modelPath);
            if (pathIsAdapter && adapterPath is not null) throw new UsageException($"{modelPath} is itself a PEFT adapter; drop --adapter");
            if (pathIsAdapter && basePath is null) throw new UsageException($"{modelPath} is a PEFT adapter: compare it with its base (--against BASE) or analyse BASE --adapter {modelPath}");
            if ((pathIsAdapter || adapterPath is not null) && options.CacheDirectory is not null) throw new UsageException("--cache keys results by file; it does not apply to an adapter merged on read");
            using var opened = Checkpoint.Open(pathIsAdapter ? basePath! : modelPath);
            using var adapted = pathIsAdapter ? AdaptedTensorStore.Open(opened, modelPath) : adapterPath is not null ? AdaptedTensorStore.Open(opened, adapterPath) : null;
            TensorStore store = adapted ?? opened;
            var (chosen, why) = forced is { } f ? (f, "--layout") : LayoutDetection.Detect(store);
            options = options with { Layout = chosen };
            string layoutNote = $"{LayoutName(chosen)} ({why})";

            if (shardSpec is { } spec)
            {
                var written = WithProgress(context, $"shard {spec}", store.Tensors.Count, p => SpectrumShards.AnalyzeShard(store, spec, options, layoutNote, p));
                written.Write(pr.GetValue(part)!);
                context.Out.WriteLine($"wrote shard {spec} ({written.Items.Count} of {store.Tensors.Count} tensors) to {pr.GetValue(part)}");
                return WeightSpaceCommandLine.Ok;
            }

            if (basePath is not null)
            {
                using var baseline = Checkpoint.Open(basePath);
                var diff = WithProgress(context, "comparing", store.Tensors.Count, p => SpectrumAnalyzer.Compare(store, baseline, options, p));
                if (csvPath is not null) SpectrumCsv.WriteFile(csvPath, diff);
                if (asJson) WriteJson(context, s => SpectrumJson.Write(s, diff));
                else WriteDiffTable(context.Console, diff, layoutNote);
                return WeightSpaceCommandLine.Ok;
            }

            // Ctrl+C or SIGTERM stop the run between tensors; every finished layer is already in --cache, so a rerun
            // resumes. The process then exits 130 through Guard.
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
            SpectrumReport report;
            try { report = WithAnalysisProgress(context, store, p => SpectrumAnalyzer.Analyze(store, options, p, cts.Token)); }
            finally { Console.CancelKeyPress -= onCancel; }
            if (csvPath is not null) SpectrumCsv.WriteFile(csvPath, report);
            IReadOnlyList<string> plotted = plotDir is null ? [] : SpectrumPlots.WriteAll(report, plotDir);
            if (plotDir is not null)
            {
                var grids = WeightSpace.Reports.Transformer.LayerRolePlots.SpectrumGrids(report);
                plotted = [.. plotted, .. WeightSpace.Reports.Transformer.LayerRolePlots.WriteAll(grids, plotDir)];
                if (grids.Count == 0) context.Error.WriteLine($"--plots: {WeightSpace.Reports.Transformer.LayerRolePlots.FallbackNote}");
            }
            if (htmlPath is not null)
            {
                var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
                var section = WeightSpace.Reports.Html.Sections.SpectraSection.Build(report, "spectra", $"Spectra: {Path.GetFileName(report.Path)}", context.CommandLine, findings);
                ReportOutput.Write(context, htmlPath, "WeightSpace spectrum", $"{report.Path} (layout {layoutNote})", [section], findings);
            }
            if (asJson) WriteJson(context, s => SpectrumJson.Write(s, report, layoutNote, pr.GetValue(jsonEigenvalues)));
            else
            {
                WriteTable(context.Console, report, layoutNote, options);
                if (csvPath is not null) context.Console.WriteLine($"wrote {csvPath}");
                if (plotDir is not null) context.Console.WriteLine($"wrote {plotted.Count} plot files into {plotDir}");
            }
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary>The <c>--shard I/N</c> and <c>--part FILE</c> pair every shardable verb takes (null when neither is given).</summary>
    internal static WeightSpace.Analysis.Sharding.ShardSpec? ParseShard(string? text, string? partPath)
    {
        if (text is null) return partPath is null ? null : throw new UsageException("--part needs --shard I/N");
        if (partPath is null) throw new UsageException("--shard needs --part FILE (where this shard's result goes)");
        try { return WeightSpace.Analysis.Sharding.ShardSpec.Parse(text); }
        catch (FormatException e) { throw new UsageException($"--shard {e.Message}"); }
    }

    internal static ConvSpectrumMode ParseConv(string text) => text.ToLowerInvariant() switch
    {
        "ww" or "weightwatcher" => ConvSpectrumMode.WeightWatcher,
        "operator" => ConvSpectrumMode.Operator,
        "unfold" or "unfolded" => ConvSpectrumMode.Unfolded,
        _ => throw new UsageException($"--conv '{text}' is not one of ww, operator, unfold"),
    };

    internal static PowerLawEstimator ParseFit(string text) => text.ToLowerInvariant() switch
    {
        "ww" or "weightwatcher" => PowerLawEstimator.WeightWatcher,
        "csn" => PowerLawEstimator.Csn,
        _ => throw new UsageException($"--fit '{text}' is not one of ww, csn"),
    };

    internal static bool ParseCompat(string text) => text.ToLowerInvariant() switch
    {
        "ww" or "weightwatcher" => true,
        "none" => false,
        _ => throw new UsageException($"--compat '{text}' is not one of ww, none"),
    };

    internal static SpectralSolverKind ParseSolver(string text) => text.ToLowerInvariant() switch
    {
        "gram" or "eigh" => SpectralSolverKind.Gram,
        "svd" => SpectralSolverKind.Svd,
        _ => throw new UsageException($"--solver '{text}' is not one of gram, svd"),
    };

    internal static SpectrumPrecision ParsePrecision(string text) => text.ToLowerInvariant() switch
    {
        "f32" or "float32" => SpectrumPrecision.Float32,
        "f64" or "float64" => SpectrumPrecision.Float64,
        _ => throw new UsageException($"--precision '{text}' is not one of f32, f64"),
    };

    internal static WeightLayout? ParseLayout(string text) => text.ToLowerInvariant() switch
    {
        "auto" => null,
        "torch" or "pytorch" or "onnx" => WeightLayout.Torch,
        "tf" or "tensorflow" or "keras" or "tfjs" => WeightLayout.TensorFlow,
        _ => throw new UsageException($"--layout '{text}' is not one of auto, torch, tf"),
    };

    internal static string LayoutName(WeightLayout layout) => layout == WeightLayout.TensorFlow ? "tf" : "torch";

    private static T WithProgress<T>(CliContext context, string label, int total, Func<IProgress<SpectrumProgress>?, T> run)
    {
        if (!context.ErrorIsTerminal) return run(null);
        T result = default!;
        context.ErrorConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: Math.Max(1, total));
                result = run(new Progress<SpectrumProgress>(p =>
                {
                    task.Value = p.Done;
                    task.Description = $"{label} {Markup.Escape(p.Name)}";
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>A progress bar weighted by tensor size (so the ETA is not fooled by the many tiny tensors that come
    /// last), labelled with layers done, matrices analysed per second (cached layers excluded) and the last tensor.</summary>
    private static SpectrumReport WithAnalysisProgress(CliContext context, TensorStore store, Func<IProgress<SpectrumProgress>?, SpectrumReport> run)
    {
        if (!context.ErrorIsTerminal) return run(null);
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var t in store.Tensors) sizes[t.Name] = Math.Max(1, t.ElementCount);
        double total = Math.Max(1, sizes.Values.Sum(v => (double)v));
        SpectrumReport result = null!;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int solved = 0, cached = 0;
        double doneWeight = 0;
        context.ErrorConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("analysing", maxValue: total);
                result = run(new Progress<SpectrumProgress>(p =>
                {
                    doneWeight += sizes.GetValueOrDefault(p.Name, 1);
                    if (p.FromCache) cached++;
                    else if (p.Analysed) solved++;
                    double rate = solved / Math.Max(1e-9, watch.Elapsed.TotalSeconds);
                    task.Value = doneWeight;
                    string name = p.Name.Length > 40 ? "…" + p.Name[^39..] : p.Name;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"layers {p.Done}/{p.Total} ({cached} cached) · {rate:F2} matrices/s · {name}"));
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private static void WriteJson(CliContext context, Action<Stream> write)
    {
        context.Out.Flush();
        using var stdout = new StreamWriterStream(context.Out);
        write(stdout);
    }

    private static void WriteTable(IAnsiConsole console, SpectrumReport report, string layoutNote, SpectrumOptions options)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (string c in new[] { "name", "shape", "kind", "status" }) table.AddColumn(c);
        foreach (string c in new[] { "α", "α̂", "λ_max", "stable rank", "eff. rank", "MP soft rank", "spikes" })
            table.AddColumn(new TableColumn(c).RightAligned());
        table.AddColumn("flag");
        table.AddColumn("reason");
        foreach (var l in report.Layers)
        {
            string flag = l.Warning switch
            {
                "over-trained" => "[red]over-trained[/]",
                "under-trained" => "[yellow]under-trained[/]",
                _ => "",
            };
            string status = l.Status switch { LayerStatus.Ok => "ok", LayerStatus.Failed => "[red]failed[/]", _ => "[grey]skipped[/]" };
            table.AddRow(Markup.Escape(l.Name), string.Join('×', l.Shape), l.Kind, status,
                F(l.Alpha, "F2"), F(l.AlphaWeighted, "F2"), F(l.LambdaMax, "G4"), F(l.StableRank, "F2"), F(l.EffectiveRank, "F1"),
                F(l.MpSoftRank, "F3"), l.NumSpikes?.ToString(CultureInfo.InvariantCulture) ?? "", flag, Markup.Escape(l.Reason ?? ""));
        }
        console.Write(table);
        var s = report.Summary;
        console.WriteLine($"{report.Path}: {s.LayersOk} analysed, {s.LayersSkipped} skipped, {s.LayersFailed} failed; " +
                          $"{s.OverTrained} over-trained (α < {F(options.OverTrainedAlpha, "G")}), {s.UnderTrained} under-trained (α > {F(options.UnderTrainedAlpha, "G")})");
        console.WriteLine($"layout: {layoutNote}; conv: {options.ConvMode}; precision: {options.Precision}; solver: {options.Solver}; " +
                          $"α estimator: {(options.Estimator == PowerLawEstimator.WeightWatcher ? "ww (WeightWatcher 0.7.5.5 WWFit)" : "csn (Clauset–Shalizi–Newman)")}; " +
                          $"conventions: {(options.WeightWatcherCompat ? "WeightWatcher" : "none")}");
        var summary = new Table().Border(TableBorder.Simple).AddColumn("metric").AddColumn(new TableColumn("mean").RightAligned())
            .AddColumn(new TableColumn("median").RightAligned()).AddColumn(new TableColumn("layers").RightAligned());
        foreach (var (name, m) in new[] { ("α", s.Alpha), ("α̂ (alpha_weighted)", s.AlphaWeighted), ("log α-norm", s.LogAlphaNorm),
                     ("log norm", s.LogNorm), ("log spectral norm", s.LogSpectralNorm), ("stable rank", s.StableRank),
                     ("effective rank", s.EffectiveRank), ("matrix entropy", s.MatrixEntropy), ("MP soft rank", s.MpSoftRank), ("KS distance", s.KsDistance) })
            summary.AddRow(name, F(m.Mean, "G4"), F(m.Median, "G4"), m.Count.ToString(CultureInfo.InvariantCulture));
        console.Write(summary);
    }

    private static void WriteDiffTable(IAnsiConsole console, SpectralDiffReport diff, string layoutNote)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("name");
        table.AddColumn("status");
        foreach (string c in new[] { "α base", "α tuned", "Δα", "Δλ_max", "Δ stable rank", "Δ eff. rank", "overlap", "intruders" })
            table.AddColumn(new TableColumn(c).RightAligned());
        table.AddColumn("reason");
        foreach (var d in diff.Layers)
            table.AddRow(Markup.Escape(d.Name), d.Status == LayerStatus.Ok ? "ok" : $"[grey]{d.Status.ToWord()}[/]", F(d.Baseline?.Alpha, "F2"), F(d.FineTuned?.Alpha, "F2"),
                F(d.DeltaAlpha, "+0.00;-0.00;0.00"), F(d.DeltaLambdaMax, "+0.###E+0;-0.###E+0;0"), F(d.DeltaStableRank, "+0.00;-0.00;0.00"),
                F(d.DeltaEffectiveRank, "+0.0;-0.0;0.0"), F(d.SubspaceOverlap, "F3"), d.IntruderCount?.ToString(CultureInfo.InvariantCulture) ?? "",
                Markup.Escape(d.Reason ?? ""));
        console.Write(table);
        console.WriteLine($"{diff.FineTunedPath} against {diff.BaselinePath}: mean Δα {F(diff.MeanDeltaAlpha, "+0.000;-0.000;0.000")}, " +
                          $"mean top-k subspace overlap {F(diff.MeanSubspaceOverlap, "F3")}, {diff.TotalIntruders} intruder dimensions; layout: {layoutNote}");
    }

    private static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "";
}
