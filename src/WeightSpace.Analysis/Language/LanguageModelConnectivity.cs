using WeightSpace.Analysis.Connectivity;
using WeightSpace.Formats;

namespace WeightSpace.Analysis.Language;

/// <summary>Loss of θ(α) = (1−α)θ_A + αθ_B on each text, for two fine-tunes of one base.</summary>
/// <param name="Alphas">Sampled α, from 0 to 1.</param>
/// <param name="Texts">The texts, in order.</param>
/// <param name="NllPerByte">[text][α]: mean NLL per byte (nats) of each text at each α.</param>
/// <param name="MeanNllPerByte">[α]: the mean over texts.</param>
/// <param name="Barrier">max over α of the mean loss above the chord between the endpoints (Frankle et al. 2020).</param>
/// <param name="BarrierMidpoint">The same at α = 0.5 only.</param>
public sealed record LanguageModelConnectivityCurve(double[] Alphas, string[] Texts, double[][] NllPerByte, double[] MeanNllPerByte, double Barrier, double BarrierMidpoint);

/// <summary>Linear mode connectivity of causal language models: the window protocol of <see cref="Perplexity"/>
/// applied at evenly spaced points of the straight line between two checkpoints of one architecture.</summary>
public static class LanguageModelConnectivity
{
    /// <summary>Scores every text at <paramref name="points"/> evenly spaced α (an even count also gets α = 0.5).</summary>
    /// <param name="modelA">Model folder at α = 0 (its config.json and tokenizer.json are used for both).</param>
    /// <param name="modelB">Model folder at α = 1.</param>
    /// <param name="textPaths">UTF-8 texts.</param>
    /// <param name="points">Number of α (≥ 2).</param>
    /// <param name="options">Protocol and compute options (the ONNX backend is not used here).</param>
    /// <param name="progress">Points done.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="InvalidCheckpointException">The models differ in tensors or shapes, or do not match the config.</exception>
    /// <exception cref="InvalidTextException">A text is empty, not UTF-8, or too short.</exception>
    public static LanguageModelConnectivityCurve Interpolate(string modelA, string modelB, IReadOnlyList<string> textPaths, int points = 11,
        LanguageModelEvaluationOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 2);
        options ??= new LanguageModelEvaluationOptions();
        var (configPath, weightsA) = ModelFolder.Resolve(modelA);
        var (_, weightsB) = ModelFolder.Resolve(modelB);
        var config = LlamaConfig.Load(configPath);
        if (options.Protocol.Window > config.MaxPositionEmbeddings)
            throw new InvalidModelConfigException(configPath, "max_position_embeddings", $"is {config.MaxPositionEmbeddings}; a window of {options.Protocol.Window} tokens does not fit");
        var tokenizer = HuggingFaceTokenizer.Load(ModelFolder.TokenizerPath(modelA));
        var texts = new List<(string Path, long Bytes, int[] Ids)>();
        foreach (string path in textPaths)
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0) throw new InvalidTextException(path, "is empty");
            texts.Add((path, bytes.Length, tokenizer.Encode(bytes, path)));
        }

        var alphas = Enumerable.Range(0, points).Select(i => i == points - 1 ? 1.0 : (double)i / (points - 1)).ToList();
        if (points % 2 == 0) alphas.Add(0.5);
        alphas.Sort();
        using var a = Checkpoint.Open(weightsA);
        using var b = Checkpoint.Open(weightsB);
        var loss = texts.Select(_ => new double[alphas.Count]).ToArray();
        for (int i = 0; i < alphas.Count; i++)
        {
            using var point = new InterpolatedTensorStore(a, b, alphas[i]);
            using var model = new CausalLanguageModel(point, config, options.Model);
            for (int t = 0; t < texts.Count; t++)
                loss[t][i] = Perplexity.Score(model, texts[t].Ids, tokenizer.ByteLength, texts[t].Path, texts[t].Bytes, options.Protocol, null, cancellationToken).NllPerByte;
            progress?.Report(i + 1);
        }
        double[] alphaArray = [.. alphas];
        var mean = alphaArray.Select((_, i) => loss.Average(l => l[i])).ToArray();
        return new LanguageModelConnectivityCurve(alphaArray, [.. texts.Select(t => t.Path)], loss, mean,
            ConnectivityBarrier.Maximum(alphaArray, mean), ConnectivityBarrier.Midpoint(alphaArray, mean));
    }
}
