using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Formats;
using WeightSpace.Reports.Connectivity;
using WeightSpace.Reports.Json;

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
        var resolution = new Option<int>("--resolution") { Description = "Grid points per side of the plane.", DefaultValueFactory = _ => 21 };
        var command = new Command("lmc", """
            Linear mode connectivity: loss and accuracy along θ(α) = (1−α)θ_A + αθ_B, with the loss and accuracy barriers.

            Examples:
              weightspace lmc a.safetensors b.safetensors --model a.onnx --data digits.npz --json
              weightspace lmc a.safetensors b.safetensors --arch mlp --data fashion-mnist/ --scale 1/255 --align --plot lmc.svg
              weightspace lmc a.safetensors b.safetensors --model a.onnx --data test.csv --plane c.safetensors --plot lmc.png
              weightspace lmc ft-prose/ ft-python/ --text prose.txt python.txt --points 11
            """) { a, b, model, arch, data, scale, points, align, spec, bnReset, json, plot, plane, planePlot, resolution, reportPath, text };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int pointCount = pr.GetValue(points);
            if (pointCount < 2 || pointCount > 10_000) throw new UsageException($"--points {pointCount} must be between 2 and 10000");
            if (pr.GetValue(text) is { Length: > 0 } texts) return EvalCommand.RunConnectivity(context, pr.GetValue(a)!, pr.GetValue(b)!, texts, pointCount, pr.GetValue(json));
            if (pr.GetValue(data) is null) throw new UsageException("lmc needs --data DIR|FILE (or --text FILE… for language models)");
            int gridSize = pr.GetValue(resolution);
            if (gridSize < 2 || gridSize > 1000) throw new UsageException($"--resolution {gridSize} must be between 2 and 1000");
            string? plotPath = pr.GetValue(plot);
            CheckPlotPath("--plot", plotPath);
            string? planePath = pr.GetValue(plane);
            string? planePlotPath = pr.GetValue(planePlot) ?? (planePath is not null && plotPath is not null
                ? Path.Combine(Path.GetDirectoryName(plotPath) ?? "", Path.GetFileNameWithoutExtension(plotPath) + "_plane" + Path.GetExtension(plotPath)) : null);
            CheckPlotPath("--plane-plot", planePlotPath);
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
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
