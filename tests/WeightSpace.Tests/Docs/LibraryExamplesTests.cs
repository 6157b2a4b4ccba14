// The examples are copied into docs/library.md as a reader would write them, without test plumbing.
#pragma warning disable xUnit1051
using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Analysis.Statistics;
using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Analysis.Language;
using WeightSpace.Analysis.Merging.Planning;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Tests.Docs;

/// <summary>The examples of docs/library.md, verbatim, so the documentation cannot rot.</summary>
public sealed class LibraryExamplesTests
{
    private static string Data(string relative) => Path.Combine(SharedData.RepositoryRoot, "data", relative);

    [Fact]
    public void Example1_InspectAnyCheckpoint()
    {
        // --- docs/library.md: example 1 ---
        using var model = Checkpoint.Open(Data("digits_mlp/mlp_seed0.pt"));          // format chosen by content
        foreach (var info in model.Tensors)
        {
            using var buffer = model.Read(info.Name);                                  // one tensor resident
            var stats = TensorStatistics.Compute(buffer);                               // float64 accumulation
            Console.WriteLine($"{info} L2={stats.L2:G4} NaN={stats.NaNCount}");
        }
        // --- end ---
        Assert.Equal(6, model.Tensors.Count);
    }

    [Fact]
    public void Example2_SpectraAndTaskVectors()
    {
        // --- docs/library.md: example 2 ---
        using var baseModel = Checkpoint.Open(Data("digits_mlp/mlp_seed0.safetensors"));
        using var fineTuned = Checkpoint.Open(Data("digits_mlp/mlp_ft_fliplr.safetensors"));
        SpectrumReport spectra = SpectrumAnalyzer.Analyze(fineTuned);
        foreach (var layer in spectra.Layers.Where(l => l.Status == LayerStatus.Ok))
            Console.WriteLine($"{layer.Name}: alpha={layer.Alpha:F2} stable rank={layer.StableRank:F1}");
        TaskVectorReport delta = TaskVectorAnalysis.Analyze(baseModel, [fineTuned]);
        Console.WriteLine($"most changed: {delta.LayerRanking[0].Name}");
        // --- end ---
        Assert.Equal(3, spectra.Layers.Count(l => l.Status == LayerStatus.Ok));
        Assert.NotEmpty(delta.LayerRanking);
    }

    [Fact]
    public void Example3_TiesMergeToSafetensors()
    {
        string output = Path.Combine(SharedData.TempFolder(), "merged.safetensors");
        // --- docs/library.md: example 3 ---
        var stores = new Dictionary<string, TensorStore>
        {
            ["base"] = Checkpoint.Open(Data("digits_mlp/mlp_seed0.safetensors")),
            ["flip"] = Checkpoint.Open(Data("digits_mlp/mlp_ft_fliplr.safetensors")),
            ["invert"] = Checkpoint.Open(Data("digits_mlp/mlp_ft_invert.safetensors")),
        };
        var config = new MergeConfigBuilder("ties").WithBase("base")
            .AddModel("flip", new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.5 })
            .AddModel("invert", new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.5 })
            .Build();
        MergePlan plan = MergePlan.Create(config, stores);                 // all mismatches reported before any work
        using (var sink = new SafetensorsTensorSink(output, plan.Outputs))  // streams: one tensor (of each worker) at a time
        {
            MergeRunner.Run(plan, sink);
            sink.Commit();                                                 // fsync + rename; without it nothing appears
        }
        foreach (var s in stores.Values) s.Dispose();
        // --- end ---
        using var check = Checkpoint.Open(output);
        Assert.Equal(6, check.Tensors.Count);
    }

    [Fact]
    public void Example4_GitReBasinAndConnectivity()
    {
        // --- docs/library.md: example 4 ---
        using var a = Checkpoint.Open(Data("digits_mlp/mlp_seed0.safetensors"));
        using var b = Checkpoint.Open(Data("digits_mlp/mlp_seed1.safetensors"));
        var digits = DatasetLoader.LoadIdx(Data("datasets/digits/digits-images-idx3-ubyte"), Data("datasets/digits/digits-labels-idx1-ubyte")).Scale(1f / 16);
        var test = digits.Select(Enumerable.Range(0, digits.Count).Where(i => i % 5 == 0).ToArray());

        var spec = PermutationSpec.Mlp(a);
        AlignmentResult alignment = WeightMatching.Align(a, b, spec);
        using var bAligned = spec.Apply(b, alignment.Permutations);
        var evaluator = new TorchModelEvaluator(NetworkArchitecture.Mlp(a));
        ConnectivityCurve naive = LinearModeConnectivity.Interpolate(a, b, evaluator, test);
        ConnectivityCurve aligned = LinearModeConnectivity.Interpolate(a, bAligned, evaluator, test);
        Console.WriteLine($"barrier {naive.BarrierLoss:F3} -> {aligned.BarrierLoss:F3}");
        // --- end ---
        Assert.True(aligned.BarrierLoss < naive.BarrierLoss);
    }

    [Fact]
    public void Example5_ScoreALanguageModelAndItsGguf()
    {
        string gguf = Path.Combine(SharedData.TempFolder(), "tinyllama-q8_0.gguf");
        // --- docs/library.md: example 5 ---
        string model = Data("tinyllama/base"), text = Data("tinyllama/eval/python.txt");
        var quick = new LanguageModelEvaluationOptions { Protocol = new PerplexityOptions { MaxWindows = 8 } };
        LanguageModelReport folder = LanguageModelEvaluation.Evaluate(model, [text], quick);
        GgufHfImport.Write(model, gguf, DType.Q8_0);                        // what llama.cpp loads
        LanguageModelReport quantised = LanguageModelEvaluation.Evaluate(gguf, [text], quick);
        Console.WriteLine($"bits/byte {folder.Texts[0].BitsPerByte:F4} -> Q8_0 {quantised.Texts[0].BitsPerByte:F4}");
        // --- end ---
        Assert.InRange(quantised.Texts[0].BitsPerByte - folder.Texts[0].BitsPerByte, -0.01, 0.01);
    }

    /// <summary>Each example block of this file stands in docs/library.md as it is here (dedented), so the doc's code
    /// is code that runs.</summary>
    [Fact]
    public void LibraryDoc_HoldsEveryExampleVerbatim()
    {
        string source = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "tests", "WeightSpace.Tests", "Docs", "LibraryExamplesTests.cs"));
        string doc = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "docs", "library.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var blocks = System.Text.RegularExpressions.Regex.Matches(source, @"// --- docs/library\.md: example (\d+) ---\r?\n(.*?)\r?\n\s*// --- end ---", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.Equal(5, blocks.Count);
        foreach (System.Text.RegularExpressions.Match block in blocks)
        {
            string code = string.Join('\n', block.Groups[2].Value.Replace("\r", "", StringComparison.Ordinal).Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart()));
            Assert.True(doc.Contains("```csharp\n" + code + "\n```", StringComparison.Ordinal), $"docs/library.md lacks example {block.Groups[1].Value} as the test runs it:\n{code}");
        }
    }
}
