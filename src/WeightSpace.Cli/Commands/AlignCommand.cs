using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Formats;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Safetensors;

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
        var method = new Option<string>("--method") { Description = "weight (weight matching, default) or activation (activation matching; needs --data).", DefaultValueFactory = _ => "weight" };
        var data = DataOption();
        var scale = ScaleOption();
        var arch = ArchOption();
        var seed = new Option<int>("--seed") { Description = "Seed of weight matching's random group order.", DefaultValueFactory = _ => 0 };
        var reportPath = ReportOutput.CreateOption();
        var output = new Option<string>("--output", "-o") { Description = "Where to write B permuted (.safetensors, written atomically).", Required = true };
        var json = new Option<bool>("--json") { Description = "Write the report as JSON to stdout instead of a table." };
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
            string methodName = pr.GetValue(method)!;
            if (methodName is not ("weight" or "activation")) throw new UsageException($"--method '{methodName}' is not one of weight, activation");
            string outPath = pr.GetValue(output)!;
            if (!outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--output '{outPath}' must end in .safetensors");
            float dataScale = ParseScale(pr.GetValue(scale));
            string? dataPath = pr.GetValue(data);
            if (methodName == "activation" && dataPath is null) throw new UsageException("--method activation needs --data");

            using var storeA = Checkpoint.Open(pr.GetValue(a)!);
            using var storeB = Checkpoint.Open(pr.GetValue(b)!);
            var permutationSpec = ResolveSpec(pr.GetValue(spec)!, pr.GetValue(model), storeA, pr.GetValue(arch));
            AlignmentResult result;
            if (methodName == "weight")
            {
                result = WeightMatching.Align(storeA, storeB, permutationSpec, new WeightMatchingOptions { Seed = pr.GetValue(seed) });
            }
            else
            {
                var architecture = ResolveArchitecture(pr.GetValue(arch) ?? "mlp", storeA);
                var samples = LoadData(dataPath!, dataScale, train: true).Take(5000);
                result = ActivationMatching.Align(storeA, storeB, permutationSpec, architecture, samples);
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
                context.Out.Flush();
                using var stdout = new StreamWriterStream(context.Out);
                using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
                writer.WriteStartObject();
                writer.WriteString("output", outPath);
                writer.WriteString("spec", permutationSpec.Source);
                writer.WritePropertyName("alignment");
                JsonSerializer.Serialize(writer, result);
                writer.WriteEndObject();
                writer.Flush();
                context.Out.WriteLine();
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

    internal static Option<string> SpecOption() => new("--spec")
    {
        Description = "Permutation spec: auto (derived from the ONNX graph of --model, or of A if A is ONNX), mlp, resnet, sequential, or a JSON spec file.",
        DefaultValueFactory = _ => "auto",
    };

    internal static Option<string?> ModelOption() => new("--model") { Description = "An ONNX export of the architecture (for --spec auto, and lmc's ONNX Runtime evaluation)." };

    internal static Option<string?> DataOption() => new("--data")
    {
        Description = "Dataset: a folder with IDX train/t10k pairs (.gz optional), IMAGES,LABELS (an IDX or .npy pair), an .npz with x and y, or a CSV whose last column is the label.",
    };

    internal static Option<string?> ScaleOption() => new("--scale") { Description = "Multiply every feature by this factor after loading (e.g. 1/255 for raw pixels)." };

    internal static Option<string?> ArchOption() => new("--arch") { Description = "Built-in architecture for TorchSharp evaluation or activation matching: mlp or cnn (the training tool's Conv-BN-ReLU-Pool CNN)." };

    /// <summary>The spec named by <c>--spec</c>.</summary>
    internal static PermutationSpec ResolveSpec(string spec, string? modelPath, TensorStore a, string? arch)
    {
        switch (spec)
        {
            case "auto":
                if (modelPath is not null)
                {
                    using var model = OnnxReader.Open(modelPath);
                    return PermutationSpec.FromOnnx(model);
                }
                if (a is OnnxModel onnx) return PermutationSpec.FromOnnx(onnx);
                if (arch is not null) return ResolveArchitecture(arch, a).ToPermutationSpec(a);
                throw new UsageException($"--spec auto needs --model M.onnx (or --arch) when A ({a.Path}) is not an ONNX model");
            case "mlp": return PermutationSpec.Mlp(a);
            case "resnet": return PermutationSpec.ResNet(a);
            case "sequential": return PermutationSpec.Sequential(a);
        }
        if (spec.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return PermutationSpec.Load(spec);
        throw new UsageException($"--spec '{spec}' is not one of auto, mlp, resnet, sequential, or a .json spec file");
    }

    /// <summary>The architecture named by <c>--arch</c>, read from A's tensor names.</summary>
    internal static NetworkArchitecture ResolveArchitecture(string arch, TensorStore a)
    {
        try
        {
            return arch switch
            {
                "mlp" => NetworkArchitecture.Mlp(a),
                "cnn" => NetworkArchitecture.Cnn(a),
                _ => throw new UsageException($"--arch '{arch}' is not one of mlp, cnn"),
            };
        }
        catch (ArgumentException e)
        {
            throw new InvalidPermutationSpecException(a.Path, e.Message, e);
        }
    }

    /// <summary>Parses <c>--scale</c>: a number or a fraction such as <c>1/255</c>.</summary>
    internal static float ParseScale(string? text)
    {
        if (text is null) return 1;
        string[] parts = text.Split('/');
        bool ok = parts.Length is 1 or 2;
        double value = 1;
        for (int i = 0; ok && i < parts.Length; i++)
        {
            ok = double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v != 0;
            value = i == 0 ? v : value / v;
        }
        if (!ok || !double.IsFinite(value) || value == 0) throw new UsageException($"--scale '{text}' is not a non-zero number or fraction such as 1/255");
        return (float)value;
    }

    /// <summary>Loads <c>--data</c>: for a folder the test split (<c>t10k</c>, else <c>test</c>, else <c>digits</c>), or
    /// with <paramref name="train"/> the <c>train</c> split when there is one.</summary>
    internal static Dataset LoadData(string path, float scale, bool train)
    {
        Dataset data;
        if (Directory.Exists(path))
        {
            string[] prefixes = train ? ["train", "t10k", "test", "digits"] : ["t10k", "test", "digits"];
            string? prefix = prefixes.FirstOrDefault(p => Directory.EnumerateFiles(path, p + "-images-idx3-ubyte*").Any());
            if (prefix is null) throw new InvalidDatasetException(path, "no IDX pair (t10k-, test-, train- or digits-images-idx3-ubyte[.gz]) in this folder");
            data = DatasetLoader.LoadIdxSplit(path, prefix);
        }
        else if (path.Contains(','))
        {
            var pair = path.Split(',');
            if (pair.Length != 2) throw new UsageException($"--data '{path}': a pair is written FEATURES,LABELS");
            data = pair[0].EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? DatasetLoader.LoadNpy(pair[0], pair[1]) : DatasetLoader.LoadIdx(pair[0], pair[1]);
        }
        else if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) data = DatasetLoader.LoadNpz(path);
        else if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase)) data = DatasetLoader.LoadCsv(path);
        else if (!File.Exists(path)) throw new FileNotFoundException($"--data '{path}' does not exist.", path);
        else throw new UsageException($"--data '{path}': expected a folder, IMAGES,LABELS, an .npz or a .csv[.gz] file");
        return scale == 1 ? data : data.Scale(scale);
    }
}
