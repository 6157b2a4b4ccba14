using System.Text.Json;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Reports.Connectivity;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace lmc A B --model M.onnx|--arch mlp|cnn --data DIR|FILE [--points 25] [--align] [--bn-reset]
/// [--json] [--plot FILE.svg|.png] [--plane C]</c>.</summary>
internal static class LmcCommand
{
    public static Command Create(CliContext context)
    {
        var a = new Argument<string>("a") { Description = "Model A (α = 0)." };
        var b = new Argument<string>("b") { Description = "Model B (α = 1)." };
        var model = AlignCommand.ModelOption();
        var arch = AlignCommand.ArchOption();
        var data = AlignCommand.DataOption();
        var text = new Option<string[]>("--text") { Description = "Language models (Hugging Face folders): score these UTF-8 texts along the path instead of --data (see weightspace eval).", AllowMultipleArgumentsPerToken = true };
        var scale = AlignCommand.ScaleOption();
        var points = new Option<int>("--points") { Description = "Evenly spaced α from 0 to 1 (an even count also gets α = 0.5).", DefaultValueFactory = _ => 25 };
        var align = new Option<bool>("--align") { Description = "Also weight-match B to A and evaluate the aligned path." };
        var spec = AlignCommand.SpecOption();
        var bnReset = new Option<bool>("--bn-reset") { Description = "Recompute BatchNorm statistics at every α on up to 2,000 training samples (needs --arch)." };
        var json = CommonOptions.Json("Write the curves as JSON to stdout instead of a table.");
        var plot = new Option<string?>("--plot") { Description = "Write loss and accuracy against α to this .svg or .png file." };
        var plane = new Option<string?>("--plane") { Description = "A third model C: also evaluate the loss over the plane through A, B and C." };
        var planePlot = new Option<string?>("--plane-plot") { Description = "Where to write the plane heatmap (.svg/.png); default: the --plot name with _plane added." };
        var reportPath = ReportOutput.CreateOption();
        var resolution = new Option<int?>("--resolution") { Description = $"Grid points per side of the plane (default {ClassifierResolution}; {LanguageModelResolution} with --text)." };
        var maxWindows = new Option<int?>("--max-windows") { Description = "With --text: score only the first N windows of each text at every point (quick looks at the plane)." };
        var command = new Command("lmc", """
            Linear mode connectivity: loss and accuracy along θ(α) = (1−α)θ_A + αθ_B, with the loss and accuracy barriers.

            Examples:
              weightspace lmc a.safetensors b.safetensors --model a.onnx --data digits.npz --json
              weightspace lmc a.safetensors b.safetensors --arch mlp --data fashion-mnist/ --scale 1/255 --align --plot lmc.svg
              weightspace lmc a.safetensors b.safetensors --model a.onnx --data test.csv --plane c.safetensors --plot lmc.png
              weightspace lmc ft-prose/ ft-python/ --text prose.txt python.txt --points 11
              weightspace lmc ft-prose/ ft-python/ --text prose.txt python.txt --plane ft-c/ --max-windows 64 --report lmc.html
            """) { a, b, model, arch, data, scale, points, align, spec, bnReset, json, plot, plane, planePlot, resolution, maxWindows, reportPath, text };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int pointCount = pr.GetValue(points);
            if (pointCount < 2 || pointCount > 10_000) throw new UsageException($"--points {pointCount} must be between 2 and 10000");
            string[] texts = pr.GetValue(text) ?? [];
            int gridSize = pr.GetValue(resolution) ?? (texts.Length > 0 ? LanguageModelResolution : ClassifierResolution);
            if (gridSize < 2 || gridSize > 1000) throw new UsageException($"--resolution {gridSize} must be between 2 and 1000");
            string? plotPath = pr.GetValue(plot);
            CheckPlotPath("--plot", plotPath);
            string? planePath = pr.GetValue(plane);
            string? planePlotPath = pr.GetValue(planePlot) ?? (planePath is not null && plotPath is not null
                ? Path.Combine(Path.GetDirectoryName(plotPath) ?? "", Path.GetFileNameWithoutExtension(plotPath) + "_plane" + Path.GetExtension(plotPath)) : null);
            CheckPlotPath("--plane-plot", planePlotPath);
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            int? windows = pr.GetValue(maxWindows);
            if (windows is < 1) throw new UsageException($"--max-windows {windows} must be at least 1");
            if (texts.Length > 0)
            {
                if (pr.GetValue(align) || pr.GetValue(bnReset) || pr.GetValue(model) is not null || pr.GetValue(arch) is not null || pr.GetValue(data) is not null)
                    throw new UsageException("--text scores language models with their own forward pass; drop --model/--arch/--data/--align/--bn-reset");
                var run = new LanguageModelRun(pr.GetValue(a)!, pr.GetValue(b)!, planePath, texts, pointCount, gridSize, windows);
                return RunLanguageModels(context, run, pr.GetValue(json), plotPath, planePlotPath, htmlPath);
            }
            if (windows is not null) throw new UsageException("--max-windows applies to --text (language models)");
            if (pr.GetValue(data) is null) throw new UsageException("lmc needs --data DIR|FILE (or --text FILE… for language models)");
            string? modelPath = pr.GetValue(model);
            string? archName = pr.GetValue(arch);
            if (modelPath is null && archName is null) throw new UsageException("lmc needs --model M.onnx or --arch mlp|cnn to evaluate the models");
            if (pr.GetValue(bnReset) && modelPath is not null) throw new UsageException("--bn-reset needs --arch (the ONNX Runtime evaluator cannot recompute BatchNorm statistics); drop --model");
            float dataScale = pr.GetValue(scale);
            string dataPath = pr.GetValue(data)!;

            using var storeA = Checkpoint.Open(pr.GetValue(a)!);
            using var storeB = Checkpoint.Open(pr.GetValue(b)!);
            var test = AlignCommand.LoadData(dataPath, dataScale, DatasetSplit.Test);
            using var onnx = modelPath is not null ? new OnnxRuntimeEvaluator(modelPath) : null;
            var architecture = archName is null ? null : NetworkArchitecture.FromName(archName, storeA);
            IModelEvaluator evaluator = onnx ?? (IModelEvaluator)new TorchModelEvaluator(architecture!);
            var options = new ConnectivityOptions
            {
                Points = pointCount,
                NormalizationResetData = pr.GetValue(bnReset) ? AlignCommand.LoadData(dataPath, dataScale, DatasetSplit.Train).Take(2000) : null,
            };

            var curves = new List<KeyValuePair<string, ConnectivityCurve>>();
            AlignmentResult? alignment = null;
            curves.Add(new("naive", WithProgress(context, "naive path", options.Points + 1, p => LinearModeConnectivity.Interpolate(storeA, storeB, evaluator, test, options, p))));
            if (pr.GetValue(align))
            {
                var permutationSpec = AlignCommand.ResolveSpec(pr.GetValue(spec)!, modelPath, storeA, architecture);
                alignment = WeightMatching.Align(storeA, storeB, permutationSpec);
                using var aligned = permutationSpec.Apply(storeB, alignment.Permutations);
                curves.Add(new("weight matching", WithProgress(context, "aligned path", options.Points + 1, p => LinearModeConnectivity.Interpolate(storeA, aligned, evaluator, test, options, p))));
            }
            LossPlane? lossPlane = null;
            if (planePath is not null)
            {
                using var storeC = Checkpoint.Open(planePath);
                lossPlane = WithProgress(context, "plane", gridSize * gridSize, p => LinearModeConnectivity.Plane(storeA, storeB, storeC, evaluator, test, gridSize,
                    normalizationResetData: options.NormalizationResetData, progress: p));
            }

            if (plotPath is not null) ConnectivityPlots.Save(ConnectivityPlots.Curves(curves), plotPath);
            if (lossPlane is not null && planePlotPath is not null) ConnectivityPlots.Save(ConnectivityPlots.Plane(lossPlane), planePlotPath);
            if (htmlPath is not null)
            {
                var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
                var section = WeightSpace.Reports.Html.Sections.ConnectivitySection.Build(curves.Select(c => (c.Key, c.Value)).ToList(), alignment, "lmc",
                    "Linear mode connectivity", $"Loss and accuracy of (1−α)·{Path.GetFileName(storeA.Path)} + α·{Path.GetFileName(storeB.Path)} on {test.Count:N0} samples of {dataPath}.",
                    context.CommandLine, findings);
                if (lossPlane is not null && planePlotPath is null)
                    section.Notes.Add("The loss plane was computed; pass --plane-plot to draw it.");
                ReportOutput.Write(context, htmlPath, "WeightSpace lmc", $"{storeA.Path} ↔ {storeB.Path}", [section], findings);
            }
            if (pr.GetValue(json)) WriteJson(context, curves, alignment, lossPlane, test.Count);
            else WriteTable(context.Console, curves, alignment, lossPlane, test.Count);
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private const int ClassifierResolution = 21;
    // Every grid point scores every text with a full forward pass: 9² = 81 points keep the plane to minutes on a tiny model.
    private const int LanguageModelResolution = 9;

    private sealed record LanguageModelRun(string A, string B, string? C, string[] Texts, int Points, int Resolution, int? MaxWindows);

    /// <summary><c>lmc A B --text FILE… [--plane C]</c>: the loss of language models along θ(α) and over the plane,
    /// as a table or JSON, with optional figures and report.</summary>
    private static int RunLanguageModels(CliContext context, LanguageModelRun run, bool asJson, string? plotPath, string? planePlotPath, string? htmlPath)
    {
        var options = new LanguageModelEvaluationOptions { Protocol = new PerplexityOptions { MaxWindows = run.MaxWindows } };
        int pathPoints = run.Points + (run.Points % 2 == 0 ? 1 : 0);
        var curve = WithProgress(context, "path", pathPoints, p => LanguageModelConnectivity.Interpolate(run.A, run.B, run.Texts, run.Points, options, p));
        var lossPlane = run.C is null ? null
            : WithProgress(context, "plane", run.Resolution * run.Resolution, p => LanguageModelConnectivity.Plane(run.A, run.B, run.C, run.Texts, run.Resolution, options: options, progress: p));
        if (plotPath is not null) ConnectivityPlots.Save(LanguageModelConnectivitySection.CurvePlot(curve), plotPath);
        if (lossPlane is not null && planePlotPath is not null) ConnectivityPlots.Save(ConnectivityPlots.Plane(lossPlane.ToLossPlane()), planePlotPath);
        string Label(string m) => Path.GetFileName(Path.TrimEndingDirectorySeparator(m));
        if (htmlPath is not null)
        {
            var findings = new List<WeightSpace.Reports.Html.ReportFinding>();
            var section = LanguageModelConnectivitySection.Build(curve, lossPlane, "lmc", Label(run.A), Label(run.B), run.C is null ? null : Label(run.C), context.CommandLine, findings);
            ReportOutput.Write(context, htmlPath, "WeightSpace lmc", $"{run.A} ↔ {run.B} on {string.Join(", ", run.Texts.Select(Path.GetFileName))}", [section], findings);
        }
        if (asJson)
        {
            JsonStdout.WriteObject(context, w =>
            {
                w.WritePropertyName("alphas");
                JsonSerializer.Serialize(w, curve.Alphas);
                w.WritePropertyName("texts");
                JsonSerializer.Serialize(w, curve.Texts);
                w.WritePropertyName("nll_per_byte");
                JsonSerializer.Serialize(w, curve.NllPerByte);
                w.WritePropertyName("mean_nll_per_byte");
                JsonSerializer.Serialize(w, curve.MeanNllPerByte);
                w.WriteNumber("barrier", curve.Barrier);
                w.WriteNumber("barrier_midpoint", curve.BarrierMidpoint);
                if (lossPlane is not null)
                {
                    w.WritePropertyName("plane");
                    JsonSerializer.Serialize(w, new
                    {
                        x = lossPlane.X,
                        y = lossPlane.Y,
                        nll_per_byte = lossPlane.NllPerByte,
                        mean_nll_per_byte = lossPlane.MeanNllPerByte,
                        model_x = lossPlane.ModelX,
                        model_y = lossPlane.ModelY,
                    });
                }
            });
            return WeightSpaceCommandLine.Ok;
        }
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn(new TableColumn("α").RightAligned());
        foreach (string t in curve.Texts) table.AddColumn(new TableColumn(Markup.Escape(Path.GetFileName(t)) + " NLL/byte").RightAligned());
        table.AddColumn(new TableColumn("mean").RightAligned());
        for (int i = 0; i < curve.Alphas.Length; i++)
            table.AddRow([curve.Alphas[i].ToString("F3", CultureInfo.InvariantCulture), .. curve.NllPerByte.Select(l => F6(l[i])), F6(curve.MeanNllPerByte[i])]);
        context.Console.Write(table);
        context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss barrier {curve.Barrier:F6} nats/byte (midpoint {curve.BarrierMidpoint:F6})"));
        if (lossPlane is not null)
            context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"plane through {Label(run.C!)}: {lossPlane.X.Length}×{lossPlane.Y.Length} grid, mean NLL/byte {lossPlane.MeanNllPerByte.Min():F6} … {lossPlane.MeanNllPerByte.Max():F6}"));
        return WeightSpaceCommandLine.Ok;
    }

    private static string F6(double v) => v.ToString("F6", CultureInfo.InvariantCulture);

    private static void CheckPlotPath(string option, string? path)
    {
        if (path is null) return;
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".svg" or ".png")) throw new UsageException($"{option} '{path}' must end in .svg or .png");
    }

    private static T WithProgress<T>(CliContext context, string label, int total, Func<IProgress<int>?, T> work) =>
        ProgressBars.Run<int, T>(context, label, total, work, done => done);

    // The naive curve's fields sit at the top level (the shape issue #5 asks for); the aligned curve and the plane nest.
    private static void WriteJson(CliContext context, List<KeyValuePair<string, ConnectivityCurve>> curves, AlignmentResult? alignment, LossPlane? plane, int samples) =>
        JsonStdout.WriteObject(context, writer =>
        {
            using (var naive = JsonSerializer.SerializeToDocument(curves[0].Value, JsonPolicy.Serializer))
                foreach (var property in naive.RootElement.EnumerateObject()) property.WriteTo(writer);
            writer.WriteNumber("samples", samples);
            if (curves.Count > 1)
            {
                writer.WritePropertyName("aligned");
                JsonSerializer.Serialize(writer, curves[1].Value, JsonPolicy.Serializer);
                writer.WritePropertyName("alignment");
                JsonSerializer.Serialize(writer, alignment! with { Permutations = new Dictionary<string, int[]>() }, JsonPolicy.Serializer);
            }
            if (plane is not null)
            {
                writer.WritePropertyName("plane");
                JsonSerializer.Serialize(writer, plane, JsonPolicy.Serializer);
            }
        });

    private static void WriteTable(IAnsiConsole console, List<KeyValuePair<string, ConnectivityCurve>> curves, AlignmentResult? alignment, LossPlane? plane, int samples)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn(new TableColumn("α").RightAligned());
        foreach (var (label, _) in curves)
        {
            table.AddColumn(new TableColumn($"{label} loss").RightAligned());
            table.AddColumn(new TableColumn($"{label} accuracy").RightAligned());
        }
        var alphas = curves[0].Value.Alphas;
        for (int i = 0; i < alphas.Length; i++)
        {
            var row = new List<string> { F(alphas[i]) };
            foreach (var (_, c) in curves) row.AddRange([F(c.Loss[i]), F(c.Accuracy[i])]);
            table.AddRow(row.ToArray());
        }
        console.Write(table);
        foreach (var (label, c) in curves)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: loss barrier {c.BarrierLoss:F4} (midpoint {c.BarrierLossMidpoint:F4}), accuracy barrier {c.BarrierAccuracy:F4} (midpoint {c.BarrierAccuracyMidpoint:F4}){(c.NormalizationReset ? ", BatchNorm reset" : "")}"));
        if (alignment is not null)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"weight matching: {alignment.Iterations} sweep(s), distance {alignment.DistanceBefore:G6} -> {alignment.DistanceAfter:G6}"));
        if (plane is not null)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"plane: {plane.X.Length}×{plane.Y.Length} grid, loss {plane.Loss.Min():F4} … {plane.Loss.Max():F4}"));
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{samples} samples"));
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
