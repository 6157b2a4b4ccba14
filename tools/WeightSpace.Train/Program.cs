using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using WeightSpace;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Formats.Onnx.Export;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Train;
using static TorchSharp.torch;

// Usage: WeightSpace.Train <experiment> [--data DIR] [--epochs N] [--width N] [--widths a,b,…] [--seeds a,b] [--out DIR]
//   train      one model per seed (--arch mlp|cnn|cnn_bn), prints test accuracy; with --out DIR also writes
//              {model}_seed{N}.safetensors and .onnx and checks the ONNX file in ONNX Runtime
//   rebasin    two MLPs: naive barrier, after weight matching, after activation matching
//   widths     the rebasin barriers for each hidden width
//   cnn        two CNNs with and without BatchNorm: naive, weight matching, weight matching + BN reset
//   bench-lap  LAP solve time on random n×n matrices
//   tinyllama  the demo's tiny Llama family from --data ../shared/data/llm into --out (default data/tinyllama)
var options = Options.Parse(args);
set_num_threads(options.Threads);
// TorchSharp 0.107 marks use_deterministic_algorithms "not implemented"; CPU kernels with a fixed thread count are
// deterministic for these ops (checked: two runs of one seed give identical weights, docs/alignment.md).
var log = Console.Out;
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

switch (options.Experiment)
{
    case "train": TrainOnly(); break;
    case "rebasin": Rebasin(options.Width); break;
    case "widths": foreach (int w in options.Widths) Rebasin(w); break;
    case "cnn": Cnn(); break;
    case "bench-lap": BenchLap(); break;
    case "tinyllama": TinyLlamaFamily.Make(options.Data, options.Out ?? "data/tinyllama", log); break;
    default: Console.Error.WriteLine($"unknown experiment '{options.Experiment}' (train, rebasin, widths, cnn, bench-lap)"); return 2;
}
return 0;

(Dataset Train, Dataset Test) Load()
{
    var train = DatasetLoader.LoadIdxSplit(options.Data, "train").Take(options.TrainSamples).Scale(1 / 255f);
    var test = DatasetLoader.LoadIdxSplit(options.Data, "t10k").Take(options.TestSamples).Scale(1 / 255f);
    return (train, test);
}

void TrainOnly()
{
    var (train, test) = Load();
    var model = options.Arch switch
    {
        "mlp" => ModelDefinition.Mlp(options.Width, options.Depth),
        "cnn" => ModelDefinition.Cnn(batchNorm: false),
        "cnn_bn" => ModelDefinition.Cnn(batchNorm: true),
        _ => throw new ArgumentException($"unknown --arch '{options.Arch}' (mlp, cnn, cnn_bn)"),
    };
    var evaluator = new TorchModelEvaluator(model.Architecture);
    foreach (int seed in options.Seeds)
    {
        var store = Trainer.Train(model, train, seed, options.Epochs, options.BatchSize, options.LearningRate, log);
        var e = evaluator.Evaluate(store, test);
        log.WriteLine($"{model.Name} seed {seed}: test accuracy {e.Accuracy:F4}, test loss {e.Loss:F4}");
        if (options.Out is not null) SaveModel(model, store, seed, test, e);
    }
}

void Rebasin(int width)
{
    var (train, test) = Load();
    var model = ModelDefinition.Mlp(width, options.Depth);
    var clock = Stopwatch.StartNew();
    var a = Trainer.Train(model, train, options.Seeds[0], options.Epochs, options.BatchSize, options.LearningRate, log);
    var b = Trainer.Train(model, train, options.Seeds[1], options.Epochs, options.BatchSize, options.LearningRate, log);
    double trainSeconds = clock.Elapsed.TotalSeconds;
    var evaluator = new TorchModelEvaluator(model.Architecture);
    var spec = PermutationSpec.Mlp(a);

    clock.Restart();
    var wm = WeightMatching.Align(a, b, spec, new WeightMatchingOptions { Seed = 0 });
    double wmSeconds = clock.Elapsed.TotalSeconds;
    clock.Restart();
    var am = ActivationMatching.Align(a, b, spec, model.Architecture, train.Take(options.ActivationSamples));
    double amSeconds = clock.Elapsed.TotalSeconds;

    var results = new Dictionary<string, object>
    {
        ["model"] = model.Name,
        ["seeds"] = options.Seeds,
        ["epochs"] = options.Epochs,
        ["train_seconds"] = trainSeconds,
        ["weight_matching_seconds"] = wmSeconds,
        ["activation_matching_seconds"] = amSeconds,
        ["accuracy_a"] = evaluator.Evaluate(a, test).Accuracy,
        ["accuracy_b"] = evaluator.Evaluate(b, test).Accuracy,
        ["weight_matching"] = wm,
        ["activation_matching"] = am with { Permutations = new Dictionary<string, int[]>() },
    };
    var naive = LinearModeConnectivity.Interpolate(a, b, evaluator, test);
    var afterWm = LinearModeConnectivity.Interpolate(a, spec.Apply(b, wm.Permutations), evaluator, test);
    var afterAm = LinearModeConnectivity.Interpolate(a, spec.Apply(b, am.Permutations), evaluator, test);
    results["weight_matching"] = wm with { Permutations = new Dictionary<string, int[]>() };
    results["curve_naive"] = naive;
    results["curve_weight_matching"] = afterWm;
    results["curve_activation_matching"] = afterAm;
    log.WriteLine($"{model.Name} epochs {options.Epochs}: acc A {results["accuracy_a"]:F4}, B {results["accuracy_b"]:F4}; " +
        $"WM {wm.Iterations} sweeps {wmSeconds:F2} s, distance {wm.DistanceBefore:F2} -> {wm.DistanceAfter:F2}; AM {amSeconds:F2} s, distance -> {am.DistanceAfter:F2}");
    Report("naive", naive);
    Report("weight matching", afterWm);
    Report("activation matching", afterAm);
    Save($"rebasin_{model.Name}", results);
}

void Cnn()
{
    var (train, test) = Load();
    var resetData = train.Take(options.ResetSamples);
    foreach (bool bn in new[] { false, true })
    {
        var model = ModelDefinition.Cnn(bn);
        var a = Trainer.Train(model, train, options.Seeds[0], options.Epochs, options.BatchSize, options.LearningRate, log);
        var b = Trainer.Train(model, train, options.Seeds[1], options.Epochs, options.BatchSize, options.LearningRate, log);
        var evaluator = new TorchModelEvaluator(model.Architecture);
        var spec = PermutationSpec.FromArchitecture(model.Architecture, a);
        var clock = Stopwatch.StartNew();
        var wm = WeightMatching.Align(a, b, spec);
        double wmSeconds = clock.Elapsed.TotalSeconds;
        var aligned = spec.Apply(b, wm.Permutations);
        var results = new Dictionary<string, object>
        {
            ["model"] = model.Name,
            ["epochs"] = options.Epochs,
            ["accuracy_a"] = evaluator.Evaluate(a, test).Accuracy,
            ["accuracy_b"] = evaluator.Evaluate(b, test).Accuracy,
            ["weight_matching_seconds"] = wmSeconds,
            ["weight_matching"] = wm with { Permutations = new Dictionary<string, int[]>() },
        };
        log.WriteLine($"{model.Name}: acc A {results["accuracy_a"]:F4}, B {results["accuracy_b"]:F4}; WM {wm.Iterations} sweeps {wmSeconds:F2} s");
        var naive = LinearModeConnectivity.Interpolate(a, b, evaluator, test);
        var afterWm = LinearModeConnectivity.Interpolate(a, aligned, evaluator, test);
        Report("naive", naive);
        Report("weight matching", afterWm);
        results["curve_naive"] = naive;
        results["curve_weight_matching"] = afterWm;
        if (bn)
        {
            var reset = new ConnectivityOptions { NormalizationResetData = resetData };
            var naiveReset = LinearModeConnectivity.Interpolate(a, b, evaluator, test, reset);
            var wmReset = LinearModeConnectivity.Interpolate(a, aligned, evaluator, test, reset);
            Report("naive + BN reset", naiveReset);
            Report("weight matching + BN reset", wmReset);
            results["curve_naive_bn_reset"] = naiveReset;
            results["curve_weight_matching_bn_reset"] = wmReset;
        }
        Save($"rebasin_{model.Name}", results);
    }
}

void BenchLap()
{
    // Yardstick in the same run: one dense n×n×n float64 matmul (torch, same threads), the cost of a single O(n³) pass.
    LinearAssignment.SolveMaximum(new double[4], 2, new int[2]);   // JIT warm-up
    foreach (int n in options.Widths)
    {
        var rng = new Random(n);
        var profit = new double[(long)n * n];
        for (int i = 0; i < profit.Length; i++) profit[i] = rng.NextDouble();
        var assignment = new int[n];
        var clock = Stopwatch.StartNew();
        double total = LinearAssignment.SolveMaximum(profit, n, assignment);
        double lapSeconds = clock.Elapsed.TotalSeconds;
        double matmulSeconds;
        using (var scope = NewDisposeScope())
        {
            var m = tensor(profit, [n, n]);
            m.matmul(m).sum().item<double>();   // warm-up
            clock.Restart();
            m.matmul(m).sum().item<double>();
            matmulSeconds = clock.Elapsed.TotalSeconds;
        }
        log.WriteLine($"LAP n={n}: {lapSeconds:F3} s (uniform [0,1) profits, optimum {total:F3}); float64 n³ matmul {matmulSeconds:F3} s");
    }
}

// Writes name_seedN.safetensors and name_seedN.onnx (same tensor names), then runs the ONNX file in ONNX Runtime and
// checks it reproduces the TorchSharp evaluation, so a broken export fails here rather than in a user's lmc run.
void SaveModel(ModelDefinition model, InMemoryTensorStore store, int seed, Dataset test, ModelEvaluation torchResult)
{
    Directory.CreateDirectory(options.Out!);
    string stem = Path.Combine(options.Out!, $"{model.Name}_seed{seed}");
    var metadata = new Dictionary<string, string>
    {
        ["format"] = "pt",
        ["weightspace.model"] = model.Name,
        ["weightspace.seed"] = seed.ToString(CultureInfo.InvariantCulture),
        ["weightspace.epochs"] = options.Epochs.ToString(CultureInfo.InvariantCulture),
    };
    SafetensorsWriter.Copy(store, stem + ".safetensors", new SafetensorsWriteOptions { Metadata = metadata });
    OnnxExporter.Save(store, model.Architecture.ToOnnxLayers(), new OnnxExportOptions { SampleShape = [28, 28] }, stem + ".onnx");
    using var ort = new OnnxRuntimeEvaluator(stem + ".onnx");
    var onnxResult = ort.Evaluate(store, test);
    log.WriteLine($"  wrote {stem}.safetensors and .onnx; ONNX Runtime: accuracy {onnxResult.Accuracy:F4}, loss {onnxResult.Loss:F6} (TorchSharp {torchResult.Loss:F6})");
    if (onnxResult.Accuracy != torchResult.Accuracy || Math.Abs(onnxResult.Loss - torchResult.Loss) > 1e-4 * Math.Max(1, torchResult.Loss))
        throw new InvalidOperationException($"{stem}.onnx does not reproduce the TorchSharp evaluation");
}

void Report(string label, ConnectivityCurve c) =>
    log.WriteLine($"  {label,-28} barrier loss {c.BarrierLoss:F4} (midpoint {c.BarrierLossMidpoint:F4}), barrier accuracy {c.BarrierAccuracy:F4} (midpoint {c.BarrierAccuracyMidpoint:F4}); " +
        $"loss A {c.Loss[0]:F4}, B {c.Loss[^1]:F4}, mid {c.Loss[c.Alphas.Length / 2]:F4}");

void Save(string name, object results)
{
    if (options.Out is null) return;
    Directory.CreateDirectory(options.Out);
    string path = Path.Combine(options.Out, name + ".json");
    File.WriteAllText(path, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
    log.WriteLine($"  wrote {path}");
}

internal sealed record Options
{
    public string Experiment { get; init; } = "rebasin";
    public string Data { get; init; } = "../shared/data/datasets/fashion-mnist";
    public string Arch { get; init; } = "mlp";
    public int Epochs { get; init; } = 5;
    public int Width { get; init; } = 512;
    public int Depth { get; init; } = 3;
    public int[] Widths { get; init; } = [64, 128, 256, 512, 1024];
    public int[] Seeds { get; init; } = [0, 1];
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 1e-3;
    public int Threads { get; init; } = 2;
    public int ActivationSamples { get; init; } = 5000;
    public int ResetSamples { get; init; } = 2000;
    public string? Out { get; init; }
    public int TrainSamples { get; init; } = int.MaxValue;
    public int TestSamples { get; init; } = int.MaxValue;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith("--")) o = o with { Experiment = args[i++] };
        for (; i < args.Length; i += 2)
        {
            string key = args[i], value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{key} needs a value");
            int[] Ints() => value.Split(',').Select(int.Parse).ToArray();
            o = key switch
            {
                "--data" => o with { Data = value },
                "--arch" => o with { Arch = value },
                "--epochs" => o with { Epochs = int.Parse(value) },
                "--width" => o with { Width = int.Parse(value) },
                "--depth" => o with { Depth = int.Parse(value) },
                "--widths" or "--sizes" => o with { Widths = Ints() },
                "--seeds" => o with { Seeds = Ints() },
                "--batch" => o with { BatchSize = int.Parse(value) },
                "--lr" => o with { LearningRate = double.Parse(value, CultureInfo.InvariantCulture) },
                "--threads" => o with { Threads = int.Parse(value) },
                "--activation-samples" => o with { ActivationSamples = int.Parse(value) },
                "--out" => o with { Out = value },
                "--train-samples" => o with { TrainSamples = int.Parse(value) },
                "--test-samples" => o with { TestSamples = int.Parse(value) },
                _ => throw new ArgumentException($"unknown option {key}"),
            };
        }
        return o;
    }
}
