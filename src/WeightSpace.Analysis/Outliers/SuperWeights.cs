using WeightSpace.Analysis.Language;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Outliers;

/// <summary>Activation-based super-weight detection (Yu et al. 2024, "The Super Weight in Large Language Models"):
/// feed text, find the layer whose MLP down projection emits a massive activation at hidden channel r, take the
/// intermediate channel c with the largest input activation at that token; the super weight is down_proj[r, c]. Then
/// measure what zeroing it (and, for comparison, the matrix-wide largest weight found without data) does to perplexity.</summary>
public static class SuperWeights
{
    /// <summary>The paper.</summary>
    public static Uri Paper { get; } = new("https://arxiv.org/abs/2411.07191");

    /// <summary>Detects the super weight of the model at <paramref name="modelPath"/> on the first windows of
    /// <paramref name="textPaths"/>[0], and scores every text with it zeroed.</summary>
    /// <param name="modelPath">A Hugging Face model folder (config.json, tokenizer.json, weights).</param>
    /// <param name="textPaths">UTF-8 texts; the first is the probe, all are scored.</param>
    /// <param name="topOutlier">A data-free outlier whose zeroing is measured alongside (e.g. the scan's largest ratio), or null.</param>
    /// <param name="protocol">The scoring protocol (as <c>weightspace eval</c>); defaults if null.</param>
    /// <param name="probeWindows">Windows of the probe text fed for detection (the paper uses one prompt).</param>
    /// <param name="cancellationToken">Checked between forward passes.</param>
    /// <exception cref="FileNotFoundException">The folder lacks config.json, tokenizer.json or weights, or a text is missing.</exception>
    /// <exception cref="WeightSpaceException">The model or a text is malformed (see <see cref="LanguageModelEvaluation.Evaluate"/>).</exception>
    public static SuperWeightReport Detect(string modelPath, IReadOnlyList<string> textPaths, WeightOutlier? topOutlier = null,
        PerplexityOptions? protocol = null, int probeWindows = 4, CancellationToken cancellationToken = default) =>
        Detect(modelPath, null, textPaths, topOutlier, protocol, probeWindows, cancellationToken);

    /// <summary>As <see cref="Detect(string, IReadOnlyList{string}, WeightOutlier?, PerplexityOptions?, int, CancellationToken)"/>,
    /// on <paramref name="modelPath"/> with the PEFT adapter <paramref name="adapterPath"/> merged in on read (float32, as
    /// <c>eval --adapter</c>); null scores the model alone.</summary>
    public static SuperWeightReport Detect(string modelPath, string? adapterPath, IReadOnlyList<string> textPaths, WeightOutlier? topOutlier = null,
        PerplexityOptions? protocol = null, int probeWindows = 4, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentNullException.ThrowIfNull(textPaths);
        if (textPaths.Count == 0) throw new ArgumentException("at least one text is needed", nameof(textPaths));
        ArgumentOutOfRangeException.ThrowIfLessThan(probeWindows, 1);
        protocol ??= new PerplexityOptions();
        using var files = LanguageModelFiles.Open(modelPath, adapterPath);
        var config = files.Config;
        var tokenizer = files.LoadTokenizer();
        var texts = LanguageModelFiles.Tokenize(tokenizer, textPaths);
        int window = Math.Min(protocol.Window, config.MaxPositionEmbeddings);
        var probe = texts[0].Ids;
        if (probe.Length < 2) throw new InvalidTextException(texts[0].Path, $"has {probe.Length} token(s); at least 2 are needed");
        int length = Math.Min(window, probe.Length);
        int rows = Math.Max(1, Math.Min(probeWindows, probe.Length / length));

        var store = files.Weights;
        var spikes = new SpikeObserver();
        using (var model = new CausalLanguageModel(store, config) { DownProjectionObserver = spikes })
            model.Logits(probe.AsSpan(0, rows * length), rows);
        var layers = spikes.Layers.Select(s => Complete(store, s)).ToList();
        var super = layers.MaxBy(s => Math.Abs(s.MaxOutput))!;
        string tensor = CausalLanguageModel.LayerPrefix(super.Layer) + "mlp.down_proj.weight";
        var (rank, ratio) = MagnitudeRank(store, tensor, super.Weight);

        var effects = new List<WeightZeroingEffect>();
        var targets = new List<(string Label, string Tensor, long Row, long Column, float Value)> { ("super weight", tensor, super.OutputChannel, super.InputChannel, super.Weight) };
        if (topOutlier is not null) targets.Add(("top outlier", topOutlier.Tensor, topOutlier.Row, topOutlier.Column, topOutlier.Value));
        var original = new List<TextScore>();
        using (var model = new CausalLanguageModel(store, config))
            foreach (var (path, bytes, ids) in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                original.Add(Perplexity.Score(model, ids, tokenizer.ByteLength, path, bytes, protocol, null, cancellationToken));
            }
        foreach (var target in targets)
        {
            using var zeroed = new ZeroedTensorStore(store, target.Tensor, target.Row, target.Column);
            using var model = new CausalLanguageModel(zeroed, config);
            for (int t = 0; t < texts.Count; t++)
            {
                var (path, bytes, ids) = texts[t];
                var score = Perplexity.Score(model, ids, tokenizer.ByteLength, path, bytes, protocol, null, cancellationToken);
                effects.Add(new WeightZeroingEffect(target.Label, target.Tensor, target.Row, target.Column, target.Value, path,
                    original[t].BitsPerByte, score.BitsPerByte, original[t].Perplexity, score.Perplexity));
            }
        }
        return new SuperWeightReport
        {
            Model = modelPath,
            ProbeText = texts[0].Path,
            ProbeTokens = rows * length,
            Layers = layers,
            SuperWeight = super,
            Tensor = tensor,
            MagnitudeRank = rank,
            RatioToRms = ratio,
            Effects = effects,
        };
    }

    private static DownProjectionSpike Complete(TensorStore store, DownProjectionSpike s)
    {
        string name = CausalLanguageModel.LayerPrefix(s.Layer) + "mlp.down_proj.weight";
        using var buffer = store.Read(name);
        Span<float> one = stackalloc float[1];
        buffer.CopyTo((long)s.OutputChannel * buffer.Info.Shape[1] + s.InputChannel, one);
        return s with { Weight = one[0] };
    }

    /// <summary>1 + the number of weights of the matrix with a larger magnitude, and |w| / RMS.</summary>
    private static (long Rank, double Ratio) MagnitudeRank(TensorStore store, string tensor, float weight)
    {
        float[] values = store.ReadSingle(tensor);
        float magnitude = MathF.Abs(weight);
        long larger = 0;
        double sumSquares = 0;
        foreach (float v in values)
        {
            if (MathF.Abs(v) > magnitude) larger++;
            sumSquares += (double)v * v;
        }
        double rms = Math.Sqrt(sumSquares / values.Length);
        return (larger + 1, rms > 0 ? magnitude / rms : double.PositiveInfinity);
    }

    /// <summary>Per layer: the largest |output| over rows, positions and channels, and the largest |input| at that token.</summary>
    private sealed class SpikeObserver : IDownProjectionObserver
    {
        public List<DownProjectionSpike> Layers { get; } = [];

        public void Observe(int layer, Tensor input, Tensor output)
        {
            using var scope = NewDisposeScope();
            long hidden = output.shape[^1], intermediate = input.shape[^1], length = output.shape[1];
            var flatOut = output.reshape(-1).to_type(ScalarType.Float32);
            long at = flatOut.abs().argmax().item<long>();
            float maxOut = flatOut[at].item<float>();
            long token = at / hidden;                      // row·length + position
            int channel = (int)(at % hidden);
            double median = flatOut.abs().median().item<float>();
            var tokenInput = input.reshape(-1, intermediate)[token].to_type(ScalarType.Float32);
            long c = tokenInput.abs().argmax().item<long>();
            float maxIn = tokenInput[c].item<float>();
            Layers.Add(new DownProjectionSpike(layer, channel, (int)(token % length), maxOut, median > 0 ? Math.Abs(maxOut) / median : double.PositiveInfinity,
                (int)c, maxIn, 0));
        }
    }
}
