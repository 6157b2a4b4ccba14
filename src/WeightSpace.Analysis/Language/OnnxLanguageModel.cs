using System.Numerics.Tensors;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Analysis.Language;

/// <summary>A causal language model exported to ONNX (int64 <c>input_ids</c> [batch, sequence] → logits [batch,
/// sequence, vocab]) run by ONNX Runtime through <see cref="OnnxRuntimeEvaluator"/>, with a checkpoint's weights as
/// the initializers: for architectures the TorchSharp forward pass does not implement, or as a second opinion.</summary>
public sealed class OnnxLanguageModel : INextTokenScorer, IDisposable
{
    private readonly OnnxRuntimeEvaluator _evaluator;
    private readonly OnnxRuntimeEvaluator.WeightBinding _binding;
    private bool _disposed;

    /// <summary>Loads <paramref name="onnxPath"/> and binds <paramref name="weights"/> (not owned) to it.</summary>
    /// <param name="onnxPath">The exported model.</param>
    /// <param name="weights">Tensors named as the model's initializers.</param>
    /// <param name="maxSequenceLength">Longest sequence accepted (the config's max_position_embeddings).</param>
    /// <param name="intraOpThreads">ONNX Runtime threads; 0 lets it choose.</param>
    /// <exception cref="InvalidCheckpointException">The model is malformed, not a token model, or the weights do not fit its initializers.</exception>
    public OnnxLanguageModel(string onnxPath, TensorStore weights, int maxSequenceLength, int intraOpThreads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        _evaluator = new OnnxRuntimeEvaluator(onnxPath, intraOpThreads: intraOpThreads);
        try
        {
            if (_evaluator.InputElementType != 7)
                throw new InvalidCheckpointException(onnxPath, _evaluator.InputName, $"input has element type {_evaluator.InputElementType}; a language model takes int64 token ids (7)");
            _binding = _evaluator.Bind(weights);
            // One short run learns the vocabulary size from the output shape.
            _binding.RunTokens([0, 0], 1, out int vocabulary);
            VocabularySize = vocabulary;
        }
        catch
        {
            _evaluator.Dispose();
            throw;
        }
        MaxSequenceLength = maxSequenceLength;
    }

    /// <inheritdoc/>
    public int VocabularySize { get; }

    /// <inheritdoc/>
    public int MaxSequenceLength { get; }

    /// <summary>The logits, row-major [rows, length, vocab].</summary>
    public float[] Logits(ReadOnlySpan<int> tokenIds, int rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _binding.RunTokens(tokenIds, rows, out _);
    }

    /// <inheritdoc/>
    public void ScoreNextTokens(ReadOnlySpan<int> tokenIds, int rows, Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var logits = _binding.RunTokens(tokenIds, rows, out int vocabulary);
        int length = tokenIds.Length / rows;
        if (destination.Length < (long)rows * (length - 1))
            throw new ArgumentException($"destination holds {destination.Length}; {rows} × {length - 1} scores are produced", nameof(destination));
        var shifted = new float[vocabulary];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j + 1 < length; j++)
            {
                int target = tokenIds[r * length + j + 1];
                if ((uint)target >= (uint)vocabulary) throw new ArgumentException($"token id {target} is outside the vocabulary [0, {vocabulary})", nameof(tokenIds));
                // −log softmax(z)[y] = log Σ exp(z − max) − (z_y − max), in float32 as torch's cross_entropy.
                var row = logits.AsSpan((r * length + j) * vocabulary, vocabulary);
                float max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, shifted);
                float targetShifted = shifted[target];
                TensorPrimitives.Exp(shifted, shifted);
                destination[r * (length - 1) + j] = MathF.Log(TensorPrimitives.Sum<float>(shifted)) - targetShifted;
            }
    }

    /// <summary>Releases the session.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _binding.Dispose();
        _evaluator.Dispose();
    }
}
