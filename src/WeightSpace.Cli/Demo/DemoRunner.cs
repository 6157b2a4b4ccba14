using System.Diagnostics;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Statistics;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Analysis.Merging.Methods;

namespace WeightSpace.Cli.Demo;

/// <summary>Runs every analysis of the toolkit on the committed demo data (<c>data/</c>, see data/PROVENANCE.md) and
/// writes one HTML report with JSON and CSV beside it. Orchestration only: the maths is in WeightSpace.Analysis.</summary>
internal sealed class DemoRunner(string dataFolder, string outputFolder, Action<string> log)
{
    private const int Steps = 7;
    private int _step;

    // Recipes both demos show (the digits MLPs and the tiny Llama's fine-tunes), defined once.
    private static readonly (string Method, string Label, Action<MergeConfigBuilder> Configure)
        TaskArithmetic = ("task_arithmetic", "λ 1", b => b.Set("lambda", 1.0)),
        Ties = ("ties", "density 0.5, λ 1", b => b.Set("lambda", 1.0)),
        DareTies = ("dare_ties", "density 0.5, λ 1, seed 0", b => b.Set("lambda", 1.0));

    /// <summary>The merge methods shown, with the parameters the demo uses (documented in docs/merging.md).</summary>
    internal static readonly (string Method, string Label, Action<MergeConfigBuilder> Configure)[] MergeMethodsShown =
    [
        ("linear", "weights 1, 1", b => { }),
        TaskArithmetic,
        Ties,
        DareTies,
        ("breadcrumbs_ties", "density 0.5, γ 0.01", b => b.Set("lambda", 1.0)),
        ("della", "density 0.5, ε 0.15", b => b.Set("lambda", 1.0)),
        ("model_stock", "", b => { }),
        ("tsv", "α 1", b => { }),
        ("iso_c", "α 1", b => { }),
    ];

    public string ReportPath => Path.Combine(outputFolder, "report.html");

    public IReadOnlyList<string> Run(CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        var report = new HtmlReport("WeightSpace demo")
        {
            Subtitle = "Real models from data/: digits MLPs (two seeds and two fine-tunes), Silero VAD v5/v6, the PP-OCR text-direction classifier, a tiny Llama and its fine-tunes",
            CommandLine = "weightspace demo --out " + outputFolder,
        };
        string D(string relative) => Path.Combine(dataFolder, relative);

        // 1. Inspect every model.
        var models = Step("inspecting the models in data/", () =>
            Directory.EnumerateFiles(dataFolder, "*", SearchOption.AllDirectories)
                .Where(p => Path.GetExtension(p) is ".safetensors" or ".pt" or ".pth" or ".bin" or ".onnx")
                .Order(StringComparer.Ordinal)
                .Select(p => { using var s = Checkpoint.Open(p); return CheckpointSummary.Create(s, new CheckpointSummaryOptions { WithStatistics = true }); })
                .ToList());
        report.Sections.Add(InspectSection.Build(models, "weightspace inspect MODEL --stats"));
        report.Findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
            $"{models.Count} checkpoints in 3 formats ({string.Join(", ", models.GroupBy(m => m.Format).Select(g => $"{g.Count()} {g.Key}"))}), {models.Sum(m => m.ParameterCount):N0} parameters read; {models.Sum(m => m.Tensors.Sum(t => (t.Statistics?.NaNCount ?? 0) + (t.Statistics?.InfinityCount ?? 0)))} non-finite values"),
            FindingLevel.Info, "inspect"));

        // 2. Spectra of a real pretrained CNN.
        string ocr = D("ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx");
        var spectrum = Step("spectral analysis of the PP-OCR classifier", () =>
        {
            using var store = Checkpoint.Open(ocr);
            return SpectrumAnalyzer.Analyze(store, new SpectrumOptions { Seed = 0 }, cancellationToken: cancellationToken);
        });
        report.Sections.Add(SpectraSection.Build(spectrum, "spectra", "Spectra: PP-OCR text-direction classifier",
            "weightspace spectrum data/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", report.Findings));

        // 3. Task vectors: two fine-tunes of one base, and two versions of one model.
        var (digitsDelta, sileroDelta) = Step("task vectors of the digits fine-tunes and of Silero v5 → v6", () =>
        {
            using var b = Checkpoint.Open(D("digits_mlp/mlp_seed0.safetensors"));
            using var f1 = Checkpoint.Open(D("digits_mlp/mlp_ft_fliplr.safetensors"));
            using var f2 = Checkpoint.Open(D("digits_mlp/mlp_ft_invert.safetensors"));
            var digits = TaskVectorAnalysis.Analyze(b, [f1, f2], ct: cancellationToken);
            using var v5 = Checkpoint.Open(D("silero_vad/silero_vad_v5.onnx"));
            using var v6 = Checkpoint.Open(D("silero_vad/silero_vad_v6.onnx"));
            var silero = TaskVectorAnalysis.Analyze(v5, [v6], ct: cancellationToken);
            return (digits, silero);
        });
        report.Sections.Add(TaskVectorSection.Build(digitsDelta, "task-vectors", "Task vectors: digits MLP fine-tunes",
            "weightspace diff data/digits_mlp/mlp_seed0.safetensors data/digits_mlp/mlp_ft_fliplr.safetensors data/digits_mlp/mlp_ft_invert.safetensors",
            report.Findings));
        report.Sections.Add(TaskVectorSection.Build(sileroDelta, "silero-diff", "Task vector: Silero VAD v5 → v6",
            "weightspace diff data/silero_vad/silero_vad_v5.onnx data/silero_vad/silero_vad_v6.onnx", report.Findings));

        // 4. Merges scored on held-out digits (test split: rows with index % 5 == 0, as the models were trained).
        var all = DatasetLoader.LoadIdx(D("datasets/digits/digits-images-idx3-ubyte"), D("datasets/digits/digits-labels-idx1-ubyte")).Scale(1f / 16);
        int[] testRows = Enumerable.Range(0, all.Count).Where(i => i % 5 == 0).ToArray();
        int[] trainRows = Enumerable.Range(0, all.Count).Where(i => i % 5 != 0).ToArray();
        var test = all.Select(testRows);
        var testSets = new (string Name, Dataset Data)[] { ("original", test), ("mirrored", ImageTransforms.MirrorLeftRight(test)), ("inverted", ImageTransforms.Invert(test)) };
        var scores = Step($"merging the digits fine-tunes with {MergeMethodsShown.Length} methods and scoring them", () => Merges(D, testSets, cancellationToken));
        report.Sections.Add(MergeSection.Build(scores, testSets.Select(t => t.Name).ToArray(), "merges", "Merges of the digits fine-tunes",
            "Base: mlp_seed0; fine-tunes: mlp_ft_fliplr (mirrored digits) and mlp_ft_invert (inverted digits). Each merge is scored on the 360 held-out " +
            "test digits as they are, mirrored and inverted: a good merge keeps both new skills without losing the original one.",
            "weightspace merge --method ties --base data/digits_mlp/mlp_seed0.safetensors --models data/digits_mlp/mlp_ft_fliplr.safetensors data/digits_mlp/mlp_ft_invert.safetensors --density 0.5 -o merged/",
            report.Findings));

        // 5. Git Re-Basin: align seed 1 to seed 0 and compare the interpolation curves.
        var (naive, aligned, alignment) = Step("Git Re-Basin weight matching of two seeds and their loss curves", () =>
        {
            using var a = Checkpoint.Open(D("digits_mlp/mlp_seed0.safetensors"));
            using var b = Checkpoint.Open(D("digits_mlp/mlp_seed1.safetensors"));
            var spec = PermutationSpec.Mlp(a);
            var result = WeightMatching.Align(a, b, spec, cancellationToken: cancellationToken);
            using var bAligned = spec.Apply(b, result.Permutations);
            var evaluator = new TorchModelEvaluator(NetworkArchitecture.Mlp(a));
            var n = LinearModeConnectivity.Interpolate(a, b, evaluator, test, cancellationToken: cancellationToken);
            var w = LinearModeConnectivity.Interpolate(a, bAligned, evaluator, test, cancellationToken: cancellationToken);
            return (n, w, result);
        });
        report.Sections.Add(ConnectivitySection.Build([("naive", naive), ("weight matching", aligned)], alignment, "rebasin",
            "Linear mode connectivity of two seeds, before and after Git Re-Basin",
            "Two digits MLPs trained from different seeds (0 and 1). Interpolating their weights directly crosses a loss barrier; after permuting " +
            "seed 1's hidden units to match seed 0 (weight matching, Ainsworth et al. 2023) the path stays low.",
            "weightspace lmc data/digits_mlp/mlp_seed0.safetensors data/digits_mlp/mlp_seed1.safetensors --model data/digits_mlp/mlp_seed0.onnx --data data/datasets/digits --align",
            report.Findings));

        // 6. A tiny Llama family: merges of its three fine-tunes, scored on each domain's held-out text.
        var llm = Step($"merging the tiny Llama fine-tunes with {LanguageModelMergesShown.Length} methods and scoring them per domain",
            () => LanguageModelMerges(D, cancellationToken));
        report.Sections.Add(MergeSection.Build(llm, LlamaDomains, "llm-merges", "Merges of tiny Llama fine-tunes, scored per domain",
            "A Llama-architecture model (2 layers, hidden 32, byte-level vocabulary) trained on prose, python and C, then fine-tuned once per domain " +
            "(data/tinyllama, made by tools/WeightSpace.Train tinyllama). Each model and merge is scored in bits per byte on each domain's 4 KiB " +
            "held-out text (weightspace eval's protocol): each fine-tune is best on its own domain; a good merge keeps all three close to their fine-tunes.",
            "weightspace merge --method ties --base data/tinyllama/base --models data/tinyllama/ft-prose data/tinyllama/ft-python data/tinyllama/ft-c --density 0.5 -o merged/ --eval data/tinyllama/eval/prose.txt data/tinyllama/eval/python.txt data/tinyllama/eval/c.txt",
            report.Findings, MergeMetric.BitsPerByte));
        var own = LlamaDomains.Select((d, i) => llm.Where(s => s.IsReference).MinBy(s => s.Values[i])!.Method == $"fine-tune: {d}").ToArray();
        report.Findings.Add(new ReportFinding($"Tiny Llama: {own.Count(o => o)} of {LlamaDomains.Length} fine-tunes score best on their own domain among the base and fine-tunes",
            own.All(o => o) ? FindingLevel.Good : FindingLevel.Warning, "llm-merges"));

        // 7. Write.
        var written = Step("writing the report", () => report.Write(ReportPath));
        log(string.Create(CultureInfo.InvariantCulture, $"demo finished in {total.Elapsed.TotalSeconds:F1} s"));
        return written;
    }

    /// <summary>The tiny Llama's domains: fine-tune ft-D and held-out text eval/D.txt in data/tinyllama.</summary>
    internal static readonly string[] LlamaDomains = ["prose", "python", "c"];

    /// <summary>The merges of the tiny Llama's fine-tunes shown (docs/merging.md's table uses the same methods).</summary>
    internal static readonly (string Method, string Label, Action<MergeConfigBuilder> Configure)[] LanguageModelMergesShown =
    [
        ("linear", "weights 1, 1, 1", b => { }),
        ("task_arithmetic", "λ 0.5", b => b.Set("lambda", 0.5)),
        TaskArithmetic,
        Ties,
        DareTies,
    ];

    private List<MergeScore> LanguageModelMerges(Func<string, string> d, CancellationToken ct)
    {
        string folder = d("tinyllama");
        var config = LlamaConfig.Load(Path.Combine(folder, "base", "config.json"));
        var tokenizer = HuggingFaceTokenizer.Load(Path.Combine(folder, "base", "tokenizer.json"));
        var texts = LlamaDomains.Select(domain =>
        {
            string path = Path.Combine(folder, "eval", domain + ".txt");
            byte[] bytes = File.ReadAllBytes(path);
            return (Path: path, Bytes: bytes.LongLength, Ids: tokenizer.Encode(bytes, path));
        }).ToArray();
        double[] Score(TensorStore store)
        {
            // One intra-op thread: a hidden size of 32 gains nothing from more, and on a busy machine OpenMP's
            // barriers make two threads several times slower than one.
            using var model = new CausalLanguageModel(store, config, new LanguageModelOptions { TorchThreads = 1 });
            return [.. texts.Select(t => Perplexity.Score(model, t.Ids, tokenizer.ByteLength, t.Path, t.Bytes, new PerplexityOptions(), null, ct).BitsPerByte)];
        }
        var stores = new Dictionary<string, TensorStore>();
        try
        {
            foreach (string name in new[] { "base" }.Concat(LlamaDomains.Select(x => "ft-" + x)))
                stores[name] = Checkpoint.Open(Path.Combine(folder, name, "model.safetensors"));
            var scores = new List<MergeScore> { new("base", "", Score(stores["base"]), IsReference: true) };
            scores.AddRange(LlamaDomains.Select(x => new MergeScore($"fine-tune: {x}", "", Score(stores["ft-" + x]), IsReference: true)));
            scores.AddRange(MergeAndScore(LanguageModelMergesShown, stores, [.. LlamaDomains.Select(x => "ft-" + x)], Score, ct));
            return scores;
        }
        finally
        {
            foreach (var s in stores.Values) s.Dispose();
        }
    }

    private List<MergeScore> Merges(Func<string, string> d, (string Name, Dataset Data)[] testSets, CancellationToken ct)
    {
        string basePath = d("digits_mlp/mlp_seed0.safetensors"), flip = d("digits_mlp/mlp_ft_fliplr.safetensors"), invert = d("digits_mlp/mlp_ft_invert.safetensors");
        using var baseStore = Checkpoint.Open(basePath);
        using var flipStore = Checkpoint.Open(flip);
        using var invertStore = Checkpoint.Open(invert);
        var evaluator = new TorchModelEvaluator(NetworkArchitecture.Mlp(baseStore));
        double[] Score(TensorStore s) => testSets.Select(t => evaluator.Evaluate(s, t.Data, ct).Accuracy).ToArray();
        var scores = new List<MergeScore>
        {
            new("base (seed 0)", "", Score(baseStore), IsReference: true),
            new("fine-tune: mirrored", "", Score(flipStore), IsReference: true),
            new("fine-tune: inverted", "", Score(invertStore), IsReference: true),
        };
        var stores = new Dictionary<string, TensorStore> { ["base"] = baseStore, ["fliplr"] = flipStore, ["invert"] = invertStore };
        scores.AddRange(MergeAndScore(MergeMethodsShown, stores, ["fliplr", "invert"], Score, ct));
        return scores;
    }

    /// <summary>Runs each recipe over <paramref name="models"/> (base "base" where the method takes one; weight 1 and
    /// density 0.5 per model where the method has them; seed 0) in memory and scores the result.</summary>
    private static IEnumerable<MergeScore> MergeAndScore((string Method, string Label, Action<MergeConfigBuilder> Configure)[] recipes,
        Dictionary<string, TensorStore> stores, string[] models, Func<TensorStore, double[]> score, CancellationToken ct)
    {
        foreach (var (method, label, configure) in recipes)
        {
            var info = MergeMethods.Get(method);
            var perModel = new Dictionary<string, double>();
            if (info.Parameters.Any(p => p.Name == "weight")) perModel["weight"] = 1.0;
            if (info.Parameters.Any(p => p.Name == "density")) perModel["density"] = 0.5;
            var builder = new MergeConfigBuilder(method).WithSeed(0);
            if (info.BaseModel != BaseModelRole.Ignored) builder.WithBase("base");
            foreach (string model in models) builder.AddModel(model, perModel);
            configure(builder);
            var plan = MergePlan.Create(builder.Build(), stores, 0);
            using var merged = new InMemoryTensorStore($"merge:{method}");
            MergeRunner.Run(plan, new InMemoryTensorSink(merged, plan.Outputs), 2, null, ct);
            yield return new MergeScore(method, label, score(merged));
        }
    }

    private T Step<T>(string what, Func<T> work)
    {
        _step++;
        log($"[{_step}/{Steps}] {what}…");
        var sw = Stopwatch.StartNew();
        var result = work();
        log(string.Create(CultureInfo.InvariantCulture, $"      done in {sw.Elapsed.TotalSeconds:F1} s"));
        return result;
    }
}
