using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats;
using WeightSpace.Reports.Spectra;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace spectrum PATH [--json] [--csv FILE] [--plots DIR] [--conv ww|operator|unfold] [--randomize]
/// [--layout auto|torch|tf] [--filter REGEX] [--threads N] [--precision f32|f64] [--seed N] [--fingers]
/// [--against BASE]</c> (issue #7).</summary>
internal static class SpectrumCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A checkpoint: .safetensors (or a folder/index of shards), a torch.save file, or .onnx." };
        var json = CommonOptions.Json("Write one JSON document to stdout instead of the table.");
        var jsonEigenvalues = new Option<bool>("--json-eigenvalues") { Description = "With --json, include every layer's eigenvalues (large)." };
        var csv = new Option<string?>("--csv") { Description = "Also write one CSV row per layer to FILE." };
        var plots = new Option<string?>("--plots") { Description = "Write SVG and PNG plots (ESDs, histograms, α/λ_max by layer) into DIR." };
        var conv = new Option<string>("--conv") { Description = "Conv spectrum: ww (WeightWatcher's pooled kh·kw slices), operator (true operator spectrum, Sedghi et al. 2019) or unfold (W reshaped to [out, in·kh·kw]).", DefaultValueFactory = _ => "ww" };
        var randomize = new Option<bool>("--randomize") { Description = "Also analyse each layer with its entries shuffled (correlation traps, rand distance)." };
        var layout = new Option<string>("--layout") { Description = "Weight layout: torch ([out,in,kh,kw], dense [out,in]), tf ([kh,kw,in,out], dense [in,out]) or auto (file metadata, else a shape heuristic).", DefaultValueFactory = _ => "auto" };
        var filter = new Option<string?>("--filter") { Description = "Only tensors whose name matches this regular expression (others are listed as skipped)." };
        var threads = CommonOptions.OptionalThreads("Torch threads for the SVDs (default: all cores).");
        var precision = new Option<string>("--precision") { Description = "SVD precision: f32 or f64.", DefaultValueFactory = _ => "f32" };
        var seed = new Option<int>("--seed") { Description = "Seed of the --randomize shuffle.", DefaultValueFactory = _ => 0 };
        var fingers = new Option<bool>("--fingers") { Description = "Apply the 'fingers' fix (clip up to 10 outlying largest eigenvalues before the power-law fit)." };
        var reportPath = ReportOutput.CreateOption();
        var against = new Option<string?>("--against") { Description = "Compare PATH (fine-tuned) with this base checkpoint: per-layer Δα, Δλ_max, rank changes, subspace overlap, intruder dimensions." };
        var command = new Command("spectrum", """
            Spectral analysis of every weight matrix: eigenvalue spectra, power-law α, Marchenko–Pastur fit,
            stable/effective rank, over-/under-trained flags. Tensors that are not analysed are listed with the reason.

            Examples:
              weightspace spectrum model.safetensors
              weightspace spectrum model.onnx --json > spectra.json
              weightspace spectrum model.pt --csv layers.csv --plots plots/ --randomize
              weightspace spectrum face_model/ --layout tf --conv unfold
              weightspace spectrum finetuned.safetensors --against base.safetensors
            """) { path, json, jsonEigenvalues, csv, plots, conv, randomize, layout, filter, threads, precision, seed, fingers, against, reportPath };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            var options = new SpectrumOptions
            {
                ConvMode = ParseConv(pr.GetValue(conv)!),
                Precision = ParsePrecision(pr.GetValue(precision)!),
                Randomize = pr.GetValue(randomize),
                Seed = pr.GetValue(seed),
                ClipFingers = pr.GetValue(fingers),
                Filter = InspectCommand.ParseFilter(pr.GetValue(filter))?.ToString(),
                TorchThreads = pr.GetValue(threads) is { } t ? (t >= 1 ? t : throw new UsageException($"--threads {t} must be at least 1")) : null,
            };
            string? layoutText = pr.GetValue(layout);
            WeightLayout? forced = ParseLayout(layoutText!);
            string? csvPath = pr.GetValue(csv), plotDir = pr.GetValue(plots), basePath = pr.GetValue(against);
            bool asJson = pr.GetValue(json);
            if (pr.GetValue(jsonEigenvalues) && !asJson) throw new UsageException("--json-eigenvalues needs --json");
            if (basePath is not null && (plotDir is not null || options.Randomize || pr.GetValue(jsonEigenvalues)))
                throw new UsageException("--against compares two checkpoints; --plots, --randomize and --json-eigenvalues apply to a single analysis");
            // Fail before a long analysis, not after it.
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            if (htmlPath is not null && basePath is not null) throw new UsageException("--report is written for a single analysis; drop --against");
            if (plotDir is null && htmlPath is null && !pr.GetValue(jsonEigenvalues)) options = options with { KeepEigenvalues = false };

            using var store = Checkpoint.Open(pr.GetValue(path)!);
            var (chosen, why) = forced is { } f ? (f, "--layout") : LayoutDetection.Detect(store);
            options = options with { Layout = chosen };
            string layoutNote = $"{LayoutName(chosen)} ({why})";

            if (basePath is not null)
            {
                using var baseline = Checkpoint.Open(basePath);
                var diff = WithProgress(context, "comparing", store.Tensors.Count, p => SpectrumAnalyzer.Compare(store, baseline, options, p));
                if (csvPath is not null) SpectrumCsv.WriteFile(csvPath, diff);
                if (asJson) WriteJson(context, s => SpectrumJson.Write(s, diff));
                else WriteDiffTable(context.Console, diff, layoutNote);
                return WeightSpaceCommandLine.Ok;
            }

            var report = WithProgress(context, "analysing", store.Tensors.Count, p => SpectrumAnalyzer.Analyze(store, options, p));
            if (csvPath is not null) SpectrumCsv.WriteFile(csvPath, report);
            IReadOnlyList<string> plotted = plotDir is null ? [] : SpectrumPlots.WriteAll(report, plotDir);
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

    internal static ConvSpectrumMode ParseConv(string text) => text.ToLowerInvariant() switch
    {
        "ww" or "weightwatcher" => ConvSpectrumMode.WeightWatcher,
        "operator" => ConvSpectrumMode.Operator,
        "unfold" or "unfolded" => ConvSpectrumMode.Unfolded,
        _ => throw new UsageException($"--conv '{text}' is not one of ww, operator, unfold"),
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
            string status = l.Status switch { "ok" => "ok", "failed" => "[red]failed[/]", _ => "[grey]skipped[/]" };
            table.AddRow(Markup.Escape(l.Name), string.Join('×', l.Shape), l.Kind, status,
                F(l.Alpha, "F2"), F(l.AlphaWeighted, "F2"), F(l.LambdaMax, "G4"), F(l.StableRank, "F2"), F(l.EffectiveRank, "F1"),
                F(l.MpSoftRank, "F3"), l.NumSpikes?.ToString(CultureInfo.InvariantCulture) ?? "", flag, Markup.Escape(l.Reason ?? ""));
        }
        console.Write(table);
        var s = report.Summary;
        console.WriteLine($"{report.Path}: {s.LayersOk} analysed, {s.LayersSkipped} skipped, {s.LayersFailed} failed; " +
                          $"{s.OverTrained} over-trained (α < {F(options.OverTrainedAlpha, "G")}), {s.UnderTrained} under-trained (α > {F(options.UnderTrainedAlpha, "G")})");
        console.WriteLine($"layout: {layoutNote}; conv: {options.ConvMode}; precision: {options.Precision}");
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
            table.AddRow(Markup.Escape(d.Name), d.Status == "ok" ? "ok" : $"[grey]{d.Status}[/]", F(d.Baseline?.Alpha, "F2"), F(d.FineTuned?.Alpha, "F2"),
                F(d.DeltaAlpha, "+0.00;-0.00"), F(d.DeltaLambdaMax, "+0.###E+0;-0.###E+0"), F(d.DeltaStableRank, "+0.00;-0.00"),
                F(d.DeltaEffectiveRank, "+0.0;-0.0"), F(d.SubspaceOverlap, "F3"), d.IntruderCount?.ToString(CultureInfo.InvariantCulture) ?? "",
                Markup.Escape(d.Reason ?? ""));
        console.Write(table);
        console.WriteLine($"{diff.FineTunedPath} against {diff.BaselinePath}: mean Δα {F(diff.MeanDeltaAlpha, "+0.000;-0.000")}, " +
                          $"mean top-k subspace overlap {F(diff.MeanSubspaceOverlap, "F3")}, {diff.TotalIntruders} intruder dimensions; layout: {layoutNote}");
    }

    private static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "";
}
