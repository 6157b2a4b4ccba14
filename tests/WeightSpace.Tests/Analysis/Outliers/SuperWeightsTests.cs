using WeightSpace.Analysis.Language;
using WeightSpace.Analysis.Outliers;
using WeightSpace.Formats;
using WeightSpace.Tests.Analysis.Language;
using static TorchSharp.torch;

namespace WeightSpace.Tests.Analysis.Outliers;

/// <summary>The down_proj observer and super-weight detection on the tiny Llama of ../shared/data/llm.</summary>
public sealed class SuperWeightsTests
{
    private sealed class Capture : IDownProjectionObserver
    {
        public List<(int Layer, float[] Input, float[] Output, long[] InputShape)> Seen { get; } = [];
        public void Observe(int layer, Tensor input, Tensor output) =>
            Seen.Add((layer, input.contiguous().data<float>().ToArray(), output.contiguous().data<float>().ToArray(), input.shape));
    }

    [Fact]
    public void Observer_SeesEveryLayer_AndOutputIsInputTimesDownProjection()
    {
        string folder = TinyLlama.Folder("base-f32");
        using var model = CausalLanguageModel.Open(folder);
        var capture = new Capture();
        model.DownProjectionObserver = capture;
        int[] ids = [.. "def f(x):\n    return x"u8.ToArray().Select(b => (int)b)];
        model.Logits(ids, 1);
        Assert.Equal([0, 1, 2, 3], capture.Seen.Select(s => s.Layer).ToArray());
        // Independent check in float64 of one output element: y[t, r] = Σ_c x[t, c] · W[r, c].
        var (_, input, output, shape) = capture.Seen[2];
        float[] w = model.Weights.ReadSingle("model.layers.2.mlp.down_proj.weight");
        int intermediate = (int)shape[^1], hidden = output.Length / ids.Length, t = 7, r = 100;
        double y = 0;
        for (int c = 0; c < intermediate; c++) y += (double)input[t * intermediate + c] * w[r * intermediate + c];
        Assert.Equal(y, output[t * hidden + r], 1e-4);
    }

    [Fact]
    public void Detect_FindsTheLargestSpike_AndZeroingItChangesOnlyThatWeight()
    {
        string folder = TinyLlama.Folder("base-f32");
        string text = TinyLlama.Text("python");
        var report = SuperWeights.Detect(folder, [text], null, new PerplexityOptions { MaxWindows = 4 }, probeWindows: 2, TestContext.Current.CancellationToken);
        Assert.Equal(4, report.Layers.Count);
        Assert.Equal(report.Layers.Max(l => Math.Abs(l.MaxOutput)), Math.Abs(report.SuperWeight.MaxOutput));
        Assert.Equal($"model.layers.{report.SuperWeight.Layer}.mlp.down_proj.weight", report.Tensor);
        using var store = Checkpoint.Open(Path.Combine(folder, "model.safetensors"));
        float[] w = store.ReadSingle(report.Tensor);
        Assert.Equal(w[report.SuperWeight.OutputChannel * 768 + report.SuperWeight.InputChannel], report.SuperWeight.Weight);
        var effect = Assert.Single(report.Effects);
        Assert.Equal("super weight", effect.Label);
        // The unzeroed score is eval's: PyTorch's first four windows of python.txt.
        double expected = TinyLlama.FirstWindowSums("base-f32", "python").Take(4).Sum() / (4 * 127) / Math.Log(2);
        Assert.Equal(expected, effect.BitsPerByte, 1e-4);
        Assert.NotEqual(effect.BitsPerByte, effect.ZeroedBitsPerByte);
    }
}
