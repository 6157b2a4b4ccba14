using WeightSpace.Analysis.Language;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.Language;

/// <summary>The TorchSharp forward pass and ONNX Runtime against PyTorch's numbers for the tiny Llama family.</summary>
public sealed class CausalLanguageModelTests
{
    private static readonly LanguageModelOptions Threads = new() { TorchThreads = 2 };

    [Fact]
    public void Logits_BaseOnFixedInput_MatchPyTorch()
    {
        var reference = TinyLlama.LogitsReference();
        using var model = CausalLanguageModel.Open(TinyLlama.Folder("base-f32"), Threads);
        AssertMatchesReference(reference, (ids, rows) => model.Logits(ids, rows));
    }

    [Fact]
    public void Logits_BaseOnnxOnFixedInput_MatchPyTorch()
    {
        var reference = TinyLlama.LogitsReference();
        using var store = Checkpoint.Open(TinyLlama.Folder("base-f32"));
        using var model = new OnnxLanguageModel(TinyLlama.Onnx, store, maxSequenceLength: 512);
        Assert.Equal(256, model.VocabularySize);
        AssertMatchesReference(reference, (ids, rows) => model.Logits(ids, rows));
    }

    [Fact]
    public void InverseFrequencies_Default_MatchExportedConstant()
    {
        using var doc = SharedData.Json("llm/base.onnx.expected.json");
        var expected = doc.RootElement.GetProperty("rotary_inv_freq").GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var actual = RopeScaling.InverseFrequencies(10000, 32, null);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-7f * expected[i] + 1e-12f);
    }

    // One evaluation per model covers its three texts (one model load), through each backend.
    [Theory]
    [MemberData(nameof(TinyLlama.ModelNames), MemberType = typeof(TinyLlama))]
    public void Score_FirstWindowsOfEveryText_MatchPyTorch(string modelName) => AssertFirstWindows(modelName, onnx: false);

    [Theory]
    [MemberData(nameof(TinyLlama.ModelNames), MemberType = typeof(TinyLlama))]
    public void Score_FirstWindowsOfEveryTextThroughOnnxRuntime_MatchPyTorch(string modelName) => AssertFirstWindows(modelName, onnx: true);

    private static void AssertFirstWindows(string modelName, bool onnx)
    {
        var expected = TinyLlama.Texts.Select(t => TinyLlama.FirstWindowSums(modelName, t)).ToArray();
        var report = Evaluate(modelName, TinyLlama.Texts, onnx, maxWindows: expected[0].Length);
        for (int t = 0; t < expected.Length; t++) AssertWindows(expected[t], report.Texts[t], TinyLlama.Tolerance(modelName));
    }

    [Theory]
    [InlineData("base-f32", "prose", false)]
    [InlineData("ft-python", "python", true)]
    public void Score_AllWindows_MatchPyTorchMeanNll(string modelName, string text, bool onnx)
    {
        var expected = TinyLlama.Expected(modelName, text);
        var score = Score(modelName, text, onnx, maxWindows: null);
        Assert.Equal(expected.GetProperty("n_windows").GetInt32(), score.Windows);
        Assert.Equal(expected.GetProperty("n_predictions").GetInt64(), score.Predictions);
        Assert.Equal(expected.GetProperty("nll_nats_per_byte").GetDouble(), score.NllPerByte, TinyLlama.Tolerance(modelName));
        Assert.Equal(expected.GetProperty("bits_per_byte").GetDouble(), score.BitsPerByte, TinyLlama.Tolerance(modelName) / Math.Log(2));
    }

    private static TextScore Score(string modelName, string text, bool onnx, int? maxWindows) =>
        Assert.Single(Evaluate(modelName, [text], onnx, maxWindows).Texts);

    private static LanguageModelReport Evaluate(string modelName, IEnumerable<string> texts, bool onnx, int? maxWindows) =>
        LanguageModelEvaluation.Evaluate(TinyLlama.Folder(modelName), [.. texts.Select(TinyLlama.Text)], new LanguageModelEvaluationOptions
        {
            Protocol = new PerplexityOptions { MaxWindows = maxWindows },
            OnnxModelPath = onnx ? TinyLlama.Onnx : null,
            Model = Threads,
        }, cancellationToken: TestContext.Current.CancellationToken);

    private static void AssertWindows(double[] expected, TextScore score, double tolerance)
    {
        Assert.Equal(expected.Length, score.Windows);
        Assert.Equal(expected.Length * 127L, score.Predictions);
        // The tolerance is per prediction: compare each window's mean over its 127 scored positions.
        for (int w = 0; w < expected.Length; w++) Assert.Equal(expected[w] / 127, score.WindowNllSums[w] / 127, tolerance);
    }

    private static void AssertMatchesReference(System.Text.Json.JsonElement reference, Func<int[], int, float[]> logits)
    {
        var rows = reference.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        int length = rows[0].Length;
        var output = logits([.. rows.SelectMany(r => r)], rows.Length);
        Assert.Equal(rows.Length * length * 256, output.Length);
        var first8 = reference.GetProperty("first8_per_position");
        var lse = reference.GetProperty("logsumexp_per_position");
        var argmax = reference.GetProperty("argmax_per_position");
        for (int r = 0; r < rows.Length; r++)
            for (int t = 0; t < length; t++)
            {
                var row = output.AsSpan((r * length + t) * 256, 256);
                for (int j = 0; j < 8; j++) Assert.Equal(first8[r][t][j].GetDouble(), row[j], 1e-4);
                double max = double.NegativeInfinity;
                int best = 0;
                for (int j = 0; j < 256; j++) if (row[j] > max) { max = row[j]; best = j; }
                double sum = 0;
                foreach (float z in row) sum += Math.Exp(z - max);
                Assert.Equal(lse[r][t].GetDouble(), max + Math.Log(sum), 1e-4);
                Assert.Equal(argmax[r][t].GetInt32(), best);
            }
    }
}
