namespace WeightSpace.Analysis.Language;

/// <summary>What to evaluate a model folder with: the window protocol, the backend and its compute options.</summary>
public sealed record LanguageModelEvaluationOptions
{
    /// <summary>The window protocol.</summary>
    public PerplexityOptions Protocol { get; init; } = new();
    /// <summary>Run this ONNX export through ONNX Runtime with the folder's weights as initializers, instead of the TorchSharp forward pass.</summary>
    public string? OnnxModelPath { get; init; }
    /// <summary>TorchSharp compute options (ignored with <see cref="OnnxModelPath"/>).</summary>
    public LanguageModelOptions Model { get; init; } = new();
    /// <summary>A PEFT adapter folder merged into the model on read (W + s·B·A per module, as <c>lora apply</c> computes it,
    /// kept in float32 rather than rounded to the base's dtype; nothing is written). The report's model is then
    /// <c>MODEL+ADAPTER</c>.</summary>
    public string? AdapterPath { get; init; }
}

/// <summary>Progress of <see cref="LanguageModelEvaluation.Evaluate"/>: windows done of the current text.</summary>
/// <param name="Text">The text being scored.</param>
/// <param name="WindowsDone">Windows scored so far.</param>
/// <param name="WindowCount">Windows of this text.</param>
public readonly record struct LanguageModelProgress(string Text, int WindowsDone, int WindowCount);

/// <summary>The scores of one model on several texts.</summary>
/// <param name="Model">The model folder.</param>
/// <param name="Backend"><c>torchsharp</c> or <c>onnxruntime</c>.</param>
/// <param name="Tokenizer">The tokenizer kind.</param>
/// <param name="Protocol">The protocol used.</param>
/// <param name="Texts">One score per text, in the order given.</param>
public sealed record LanguageModelReport(string Model, string Backend, TokenizerKind Tokenizer, PerplexityOptions Protocol, IReadOnlyList<TextScore> Texts);

/// <summary>Scores texts with a Hugging Face model folder: config.json, tokenizer.json and weights (the
/// <c>weightspace eval</c> entry point).</summary>
public static class LanguageModelEvaluation
{
    /// <summary>Tokenizes each text with the folder's tokenizer.json and scores it under <paramref name="options"/>.</summary>
    /// <param name="modelPath">The model folder (or a weights file inside it).</param>
    /// <param name="textPaths">Text files (UTF-8).</param>
    /// <param name="options">Protocol and backend; defaults if null.</param>
    /// <param name="progress">Per-batch progress.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="FileNotFoundException">The model folder lacks config.json, tokenizer.json or weights, or a text is missing.</exception>
    /// <exception cref="InvalidModelConfigException">config.json or tokenizer.json is malformed, or the window exceeds max_position_embeddings.</exception>
    /// <exception cref="UnsupportedModelException">The architecture or tokenizer is not implemented.</exception>
    /// <exception cref="InvalidCheckpointException">The weights are malformed or do not match the config (or the ONNX model).</exception>
    /// <exception cref="InvalidTextException">A text is empty, not UTF-8, or too short.</exception>
    public static LanguageModelReport Evaluate(string modelPath, IReadOnlyList<string> textPaths, LanguageModelEvaluationOptions? options = null,
        IProgress<LanguageModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentNullException.ThrowIfNull(textPaths);
        options ??= new LanguageModelEvaluationOptions();
        // A GGUF file carries its config and tokenizer as metadata; a folder has them as files.
        using var files = LanguageModelFiles.Open(modelPath, options.AdapterPath);
        var config = files.Config;
        var protocol = options.Protocol;
        files.RequireWindow(protocol.Window);
        var tokenizer = files.LoadTokenizer();
        if (tokenizer.VocabularySize > config.VocabularySize)
            throw new InvalidModelConfigException(tokenizer.Source, "model.vocab", $"has ids up to {tokenizer.VocabularySize - 1} but {files.ConfigSource} has vocab_size {config.VocabularySize}");

        // Texts are read and tokenized before the model loads, so a bad text fails fast.
        var texts = LanguageModelFiles.Tokenize(tokenizer, textPaths);

        // An adapter is merged one tensor at a time as the forward pass reads its weights.
        var store = files.Weights;
        INextTokenScorer model = options.OnnxModelPath is { } onnx
            ? new OnnxLanguageModel(onnx, store, config.MaxPositionEmbeddings, options.Model.TorchThreads ?? 0)
            : new CausalLanguageModel(store, config, options.Model);
        using var release = (IDisposable)model;
        var scores = new List<TextScore>();
        foreach (var (path, bytes, ids) in texts)
        {
            int windowCount = Perplexity.Windows(ids.Length, protocol.Window, protocol.Stride ?? protocol.Window).Count;
            if (protocol.MaxWindows is int max) windowCount = Math.Min(windowCount, Math.Max(1, max));
            var perText = progress is null ? null : new SyncProgress(done => progress.Report(new LanguageModelProgress(path, done, windowCount)));
            progress?.Report(new LanguageModelProgress(path, 0, windowCount));
            scores.Add(Perplexity.Score(model, ids, tokenizer.ByteLength, path, bytes, protocol, perText, cancellationToken));
        }
        return new LanguageModelReport(options.AdapterPath is null ? modelPath : $"{modelPath}+{options.AdapterPath}", options.OnnxModelPath is null ? "torchsharp" : "onnxruntime", tokenizer.Kind, protocol, scores);
    }

    // Progress<T> posts to the thread pool; a CLI bar wants the count now, on this thread.
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
