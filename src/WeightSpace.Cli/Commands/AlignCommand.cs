using System.Text.Json;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace align A B --spec auto|mlp|resnet|sequential|FILE.json [--model M.onnx] [--method weight|activation]
/// [--data DIR|FILE] -o B_aligned.safetensors [--json]</c>; also the option parsing <c>lmc</c> shares.</summary>
internal static class AlignCommand
{
    public static Command Create(CliContext context)
    {
        var a = new Argument<string>("a") { Description = "Reference checkpoint (safetensors, torch.save or ONNX)." };
        var b = new Argument<string>("b") { Description = "Checkpoint to permute into A's unit order." };
        var spec = SpecOption();
        var model = ModelOption();
        var method = CommonOptions.Choice("--method", "weight (weight matching, default) or activation (activation matching; needs --data).", "weight", ("weight", false), ("activation", true));
        var data = DataOption();
        var scale = ScaleOption();
        var arch = ArchOption();
        var seed = new Option<int>("--seed") { Description = "Seed of weight matching's random group order.", DefaultValueFactory = _ => 0 };
        var reportPath = ReportOutput.CreateOption();
        var output = CommonOptions.Output("Where to write B permuted (.safetensors, written atomically).");
        var json = CommonOptions.Json("Write the report as JSON to stdout instead of a table.");
        var command = new Command("align", """
            Permute B's hidden units to match A (Git Re-Basin) and write the aligned B. The aligned model computes the
            same function as B; it is just closer to A in weight space.

            Examples:
              weightspace align a.safetensors b.safetensors --spec auto --model a.onnx -o b_aligned.safetensors
              weightspace align a.safetensors b.safetensors --spec mlp --method activation --data fashion-mnist/ --scale 1/255 -o b_aligned.safetensors
            """) { a, b, spec, model, method, data, scale, arch, seed, output, json, reportPath };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? htmlPath = pr.GetValue(reportPath);
            ReportOutput.Validate(htmlPath);
            bool byActivation = pr.GetValue(method);
            string outPath = pr.GetValue(output)!;
            if (!outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--output '{outPath}' must end in .safetensors");
            float dataScale = pr.GetValue(scale);
            string? dataPath = pr.GetValue(data);
            if (byActivation && dataPath is null) throw new UsageException("--method activation needs --data");

            using var storeA = Checkpoint.Open(pr.GetValue(a)!);
            using var storeB = Checkpoint.Open(pr.GetValue(b)!);
            var architecture = pr.GetValue(arch) is { } archName ? NetworkArchitecture.FromName(archName, storeA) : null;
            var permutationSpec = ResolveSpec(pr.GetValue(spec)!, pr.GetValue(model), storeA, architecture);
            AlignmentResult result;
            if (!byActivation)
            {
                result = WeightMatching.Align(storeA, storeB, permutationSpec, new WeightMatchingOptions { Seed = pr.GetValue(seed) });
            }
            else
            {
                var samples = LoadData(dataPath!, dataScale, DatasetSplit.Train).Take(5000);
                result = ActivationMatching.Align(storeA, storeB, permutationSpec, architecture ?? NetworkArchitecture.Mlp(storeA), samples);
            }
            using var aligned = permutationSpec.Apply(storeB, result.Permutations);
            SafetensorsWriter.Copy(aligned, outPath, new SafetensorsWriteOptions { Metadata = new Dictionary<string, string> { ["format"] = "pt" } });
            if (htmlPath is not null)
            {
                var section = WeightSpace.Reports.Html.Sections.ConnectivitySection.Build([], result, "alignment", "Permutation alignment",
                    $"{Path.GetFileName(storeB.Path)} permuted to match {Path.GetFileName(storeA.Path)} ({result.Method.Replace('_', ' ')}, spec {permutationSpec.Source}); " +
                    "run weightspace lmc --align to see what it does to the loss barrier.", context.CommandLine);
                ReportOutput.Write(context, htmlPath, "WeightSpace align", $"{storeA.Path} ← {storeB.Path}", [section], []);
            }

            if (pr.GetValue(json))
            {
                JsonStdout.WriteObject(context, writer =>
                {
                    writer.WriteString("output", outPath);
                    writer.WriteString("spec", permutationSpec.Source);
                    writer.WritePropertyName("alignment");
                    JsonSerializer.Serialize(writer, result, JsonPolicy.Serializer);
                });
            }
            else WriteTable(context.Console, result, outPath);
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static void WriteTable(IAnsiConsole console, AlignmentResult result, string outPath)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("group");
        foreach (string c in new[] { "size", "⟨A,B⟩ before", "⟨A,B⟩ after", "gain", "‖A−B‖ before", "‖A−B‖ after", "fixed" })
            table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var g in result.Groups)
            table.AddRow(Markup.Escape(g.Group), I(g.Size), G(g.ObjectiveBefore), G(g.ObjectiveAfter), G(g.ObjectiveAfter - g.ObjectiveBefore),
                G(g.DistanceBefore), G(g.DistanceAfter), I(g.FixedPoints));
        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Method}: {result.Iterations} sweep(s), weight-space distance {result.DistanceBefore:G6} -> {result.DistanceAfter:G6}; wrote {outPath}"));
    }

    private static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    internal static Option<string> SpecOption()
    {
        var option = new Option<string>("--spec")
        {
            Description = "Permutation spec: auto (derived from the ONNX graph of --model, or of A if A is ONNX), mlp, resnet, sequential, or a JSON spec file.",
            DefaultValueFactory = _ => "auto",
        };
        option.Validators.Add(r =>
        {
            string value = r.GetValueOrDefault<string>() ?? "auto";
            if (!PermutationSpec.Names.Contains(value) && !value.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                r.AddError($"--spec '{value}' is not one of {string.Join(", ", PermutationSpec.Names)}, or a .json spec file");
        });
        return option;
    }

    internal static Option<string?> ModelOption() => new("--model") { Description = "An ONNX export of the architecture (for --spec auto, and lmc's ONNX Runtime evaluation)." };

    internal static Option<string?> DataOption() => new("--data")
    {
        Description = "Dataset: a folder with IDX train/t10k pairs (.gz optional), IMAGES,LABELS (an IDX or .npy pair), an .npz with x and y, or a CSV whose last column is the label.",
    };

    internal static Option<float> ScaleOption() => new("--scale")
    {
        Description = "Multiply every feature by this factor after loading (e.g. 1/255 for raw pixels).",
        DefaultValueFactory = _ => 1f,
        CustomParser = r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "1";
            try { return CliValues.ParseScale(text); }
            catch (UsageException e) { r.AddError(e.Message); return 1; }
        },
    };

    internal static Option<string?> ArchOption()
    {
        var option = new Option<string?>("--arch") { Description = "Built-in architecture for TorchSharp evaluation or activation matching: mlp or cnn (the training tool's Conv-BN-ReLU-Pool CNN)." };
        option.AcceptOnlyFromAmong([.. NetworkArchitecture.Names]);
        return option;
    }

    /// <summary>The spec named by <c>--spec</c>; the option combination is checked here, the resolution is the library's.</summary>
    internal static PermutationSpec ResolveSpec(string spec, string? modelPath, TensorStore a, NetworkArchitecture? architecture)
    {
        if (spec == "auto" && modelPath is null && a is not OnnxModel && architecture is null)
            throw new UsageException($"--spec auto needs --model M.onnx (or --arch) when A ({a.Path}) is not an ONNX model");
        return PermutationSpec.Resolve(spec, a, modelPath, architecture);
    }

    /// <summary>Loads <c>--data</c> and applies <c>--scale</c>.</summary>
    internal static Dataset LoadData(string path, float scale, DatasetSplit split)
    {
        var data = DatasetLoader.Load(path, split);
        return scale == 1 ? data : data.Scale(scale);
    }
}
