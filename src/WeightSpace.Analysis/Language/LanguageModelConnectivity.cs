using WeightSpace.Analysis.Connectivity;

namespace WeightSpace.Analysis.Language;

/// <summary>Loss of θ(α) = (1−α)θ_A + αθ_B on each text, for two fine-tunes of one base.</summary>
/// <param name="Alphas">Sampled α, from 0 to 1.</param>
/// <param name="Texts">The texts, in order.</param>
/// <param name="NllPerByte">[text][α]: mean NLL per byte (nats) of each text at each α.</param>
/// <param name="MeanNllPerByte">[α]: the mean over texts.</param>
/// <param name="Barrier">max over α of the mean loss above the chord between the endpoints (Frankle et al. 2020).</param>
/// <param name="BarrierMidpoint">The same at α = 0.5 only.</param>
public sealed record LanguageModelConnectivityCurve(double[] Alphas, string[] Texts, double[][] NllPerByte, double[] MeanNllPerByte, double Barrier, double BarrierMidpoint);

/// <summary>Loss of language models over the plane through θ_A, θ_B, θ_C (the grid of <see cref="PlaneGrid"/>).</summary>
/// <param name="X">Grid coordinates along u = (θ_B − θ_A)/‖θ_B − θ_A‖ (weight-space L2 units).</param>
/// <param name="Y">Grid coordinates along v, the part of θ_C − θ_A orthogonal to u.</param>
/// <param name="Texts">The texts, in order.</param>
/// <param name="NllPerByte">[text][j·X.Length + i]: mean NLL per byte (nats) at (X[i], Y[j]).</param>
/// <param name="MeanNllPerByte">[j·X.Length + i]: the mean over texts.</param>
/// <param name="ModelX">u coordinates of θ_A, θ_B, θ_C.</param>
/// <param name="ModelY">v coordinates of θ_A, θ_B, θ_C.</param>
public sealed record LanguageModelLossPlane(double[] X, double[] Y, string[] Texts, double[][] NllPerByte, double[] MeanNllPerByte, double[] ModelX, double[] ModelY)
{
    /// <summary>The mean loss as a <see cref="LossPlane"/> (accuracy NaN: a language model's score is its loss), for
    /// the plots the classifier planes use.</summary>
    public LossPlane ToLossPlane() => new(X, Y, MeanNllPerByte, [.. MeanNllPerByte.Select(_ => double.NaN)], ModelX, ModelY);
}

/// <summary>Linear mode connectivity of causal language models: the window protocol of <see cref="Perplexity"/>
/// applied at evenly spaced points of the straight line between two checkpoints of one architecture, or over the plane
/// through three.</summary>
public static class LanguageModelConnectivity
{
    /// <summary>Scores every text at <paramref name="points"/> evenly spaced α (an even count also gets α = 0.5).</summary>
    /// <param name="modelA">Model folder at α = 0 (its config.json and tokenizer.json are used for both).</param>
    /// <param name="modelB">Model folder at α = 1 (or a PEFT adapter folder: model A with the adapter merged in).</param>
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
        var setup = Setup.Load(modelA, textPaths, options);
        var alphas = Enumerable.Range(0, points).Select(i => i == points - 1 ? 1.0 : (double)i / (points - 1)).ToList();
        if (points % 2 == 0) alphas.Add(0.5);
        alphas.Sort();
        using var a = LanguageModelFiles.Open(modelA);
        using var b = LanguageModelFiles.OpenOrAdapted(modelB, modelA);
        var loss = setup.Texts.Select(_ => new double[alphas.Count]).ToArray();
        for (int i = 0; i < alphas.Count; i++)
        {
            using var point = new InterpolatedTensorStore(a.Weights, b.Weights, alphas[i]);
            setup.Score(point, loss, i, options, cancellationToken);
            progress?.Report(i + 1);
        }
        double[] alphaArray = [.. alphas];
        var mean = alphaArray.Select((_, i) => loss.Average(l => l[i])).ToArray();
        return new LanguageModelConnectivityCurve(alphaArray, [.. setup.Texts.Select(t => t.Path)], loss, mean,
            ConnectivityBarrier.Maximum(alphaArray, mean), ConnectivityBarrier.Midpoint(alphaArray, mean));
    }

    /// <summary>Scores every text on a <paramref name="resolution"/>² grid over the plane through three models of one
    /// architecture, extending <paramref name="margin"/> of the span beyond them (Garipov et al. 2018).</summary>
    /// <param name="modelA">Model folder at the origin (its config.json and tokenizer.json are used for all three).</param>
    /// <param name="modelB">Model folder on the u axis (or a PEFT adapter of model A).</param>
    /// <param name="modelC">The third model (or a PEFT adapter of model A).</param>
    /// <param name="textPaths">UTF-8 texts.</param>
    /// <param name="resolution">Grid points per side (≥ 2).</param>
    /// <param name="margin">Padding beyond the models, as a fraction of their span.</param>
    /// <param name="options">Protocol and compute options (the ONNX backend is not used here).</param>
    /// <param name="progress">Grid points done.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="InvalidCheckpointException">The models differ in tensors or shapes, or do not match the config.</exception>
    /// <exception cref="InvalidTextException">A text is empty, not UTF-8, or too short.</exception>
    /// <exception cref="WeightSpaceException">The three models are (nearly) collinear.</exception>
    public static LanguageModelLossPlane Plane(string modelA, string modelB, string modelC, IReadOnlyList<string> textPaths, int resolution = 11,
        double margin = 0.2, LanguageModelEvaluationOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 2);
        options ??= new LanguageModelEvaluationOptions();
        var setup = Setup.Load(modelA, textPaths, options);
        using var fa = LanguageModelFiles.Open(modelA);
        using var fb = LanguageModelFiles.OpenOrAdapted(modelB, modelA);
        using var fc = LanguageModelFiles.OpenOrAdapted(modelC, modelA);
        TensorStore a = fa.Weights, b = fb.Weights, c = fc.Weights;
        // Checks names and shapes of B and C against A before the inner products read anything.
        using (new InterpolatedTensorStore([a, b, c], [1, 0, 0], "plane")) { }
        var (bb, cc, bc) = Differences(a, b, c, cancellationToken);
        var grid = PlaneGrid.Create(bb, cc, bc, resolution, margin);
        var loss = setup.Texts.Select(_ => new double[resolution * resolution]).ToArray();
        for (int j = 0; j < resolution; j++)
            for (int i = 0; i < resolution; i++)
            {
                var (wa, wb, wc) = grid.Weights(i, j);
                using var point = new InterpolatedTensorStore([a, b, c], [wa, wb, wc], $"plane ({grid.X[i]:G4}, {grid.Y[j]:G4})");
                setup.Score(point, loss, j * resolution + i, options, cancellationToken);
                progress?.Report(j * resolution + i + 1);
            }
        var mean = Enumerable.Range(0, resolution * resolution).Select(k => loss.Average(l => l[k])).ToArray();
        return new LanguageModelLossPlane(grid.X, grid.Y, [.. setup.Texts.Select(t => t.Path)], loss, mean, grid.ModelX, grid.ModelY);
    }

    // ⟨B−A, B−A⟩, ⟨C−A, C−A⟩, ⟨B−A, C−A⟩ over the floating tensors in double, one tensor of each model at a time.
    private static (double BB, double CC, double BC) Differences(TensorStore a, TensorStore b, TensorStore c, CancellationToken ct)
    {
        double bb = 0, cc = 0, bc = 0;
        foreach (var info in a.Tensors)
        {
            if (!info.DType.IsFloatingPoint()) continue;
            ct.ThrowIfCancellationRequested();
            float[] x = a.ReadSingle(info.Name), y = b.ReadSingle(info.Name), z = c.ReadSingle(info.Name);
            for (int k = 0; k < x.Length; k++)
            {
                double db = (double)y[k] - x[k], dc = (double)z[k] - x[k];
                bb += db * db;
                cc += dc * dc;
                bc += db * dc;
            }
        }
        return (bb, cc, bc);
    }

    /// <summary>What every point shares: model A's config and tokenizer, and the tokenized texts (read first, so a bad
    /// text fails before any model work).</summary>
    private sealed record Setup(LlamaConfig Config, HuggingFaceTokenizer Tokenizer, List<TokenizedText> Texts)
    {
        public static Setup Load(string modelA, IReadOnlyList<string> textPaths, LanguageModelEvaluationOptions options)
        {
            using var files = LanguageModelFiles.Open(modelA);
            var config = files.Config;
            files.RequireWindow(options.Protocol.Window);
            var tokenizer = files.LoadTokenizer();
            var texts = LanguageModelFiles.Tokenize(tokenizer, textPaths);
            return new Setup(config, tokenizer, texts);
        }

        /// <summary>loss[t][index] = NLL per byte of text t under the weights of <paramref name="point"/>.</summary>
        public void Score(TensorStore point, double[][] loss, int index, LanguageModelEvaluationOptions options, CancellationToken ct)
        {
            using var model = new CausalLanguageModel(point, Config, options.Model);
            for (int t = 0; t < Texts.Count; t++)
                loss[t][index] = Perplexity.Score(model, Texts[t].Ids, Tokenizer.ByteLength, Texts[t].Path, Texts[t].Bytes, options.Protocol, null, ct).NllPerByte;
        }
    }
}
