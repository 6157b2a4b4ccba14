namespace WeightSpace.Analysis.Neurons;

/// <summary>What <see cref="NeuronDecoder"/> decodes and how.</summary>
public sealed record NeuronDecodingOptions
{
    /// <summary>Tokens kept per neuron (top-k by logit), 1…1024. Default 10.</summary>
    public int TopK { get; init; } = 10;

    /// <summary>Decode only this block index; null decodes every block.</summary>
    public int? Layer { get; init; }

    /// <summary>Decode the tensors whose name matches this instead of the MLP down projections (e.g. <c>up_proj</c>
    /// to read the input directions of the MLP). The neuron axis is the dimension that is not the hidden size.</summary>
    public Regex? Matrix { get; init; }

    /// <summary>Multiply by the final norm's weight γ before the unembedding (logit-lens convention), default true.
    /// False projects onto the raw unembedding, as Dar et al. do.</summary>
    public bool ApplyFinalNorm { get; init; } = true;

    /// <summary>Neurons listed as "changed most" in a comparison. Default 20.</summary>
    public int MostChanged { get; init; } = 20;

    /// <summary>Largest [vocabulary × neurons] logit block computed at once, in float32 elements (bounds memory for
    /// large vocabularies). Default 2²⁴ (64 MB).</summary>
    public long ChunkElements { get; init; } = 1 << 24;
}
