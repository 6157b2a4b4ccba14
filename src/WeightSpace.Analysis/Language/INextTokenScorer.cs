namespace WeightSpace.Analysis.Language;

/// <summary>Anything that scores next-token predictions of a causal language model: the TorchSharp forward pass
/// (<see cref="CausalLanguageModel"/>) or an ONNX export run by ONNX Runtime (<see cref="OnnxLanguageModel"/>).</summary>
public interface INextTokenScorer
{
    /// <summary>Number of token ids the model predicts over.</summary>
    int VocabularySize { get; }

    /// <summary>Longest sequence the model accepts (<c>max_position_embeddings</c>).</summary>
    int MaxSequenceLength { get; }

    /// <summary>Scores <paramref name="rows"/> independent sequences of equal length, each starting at position 0.</summary>
    /// <param name="tokenIds">Row-major [rows, length] token ids.</param>
    /// <param name="rows">Number of sequences.</param>
    /// <param name="destination">Receives, row-major [rows, length − 1], −log p(token[j + 1] | token[0..j]) in nats,
    /// computed in float32 as <c>torch.nn.functional.cross_entropy(reduction='none')</c> does.</param>
    void ScoreNextTokens(ReadOnlySpan<int> tokenIds, int rows, Span<float> destination);
}
