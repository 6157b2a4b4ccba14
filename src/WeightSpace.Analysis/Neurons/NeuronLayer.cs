namespace WeightSpace.Analysis.Neurons;

/// <summary>The decoded neurons of one matrix (one MLP layer).</summary>
/// <remarks>Arrays are neuron-major: neuron j's top tokens are <c>TokenIds[j·TopK … (j+1)·TopK)</c>, best first.
/// The comparison arrays are null unless a baseline was given.</remarks>
public sealed record NeuronLayer
{
    /// <summary>The decoded tensor (e.g. <c>model.layers.3.mlp.down_proj.weight</c>).</summary>
    public required string Tensor { get; init; }
    /// <summary>Its block index, or null outside the blocks.</summary>
    public required int? Layer { get; init; }
    /// <summary>Neurons (columns of a down projection).</summary>
    public required int NeuronCount { get; init; }
    /// <summary>Tokens kept per neuron.</summary>
    public required int TopK { get; init; }
    /// <summary>Top-k token ids per neuron, best first.</summary>
    public required int[] TokenIds { get; init; }
    /// <summary>Their logits (neuron direction · unembedding row).</summary>
    public required float[] Logits { get; init; }
    /// <summary>The baseline's top-k token ids per neuron.</summary>
    public int[]? BaselineTokenIds { get; init; }
    /// <summary>The baseline's logits of those tokens.</summary>
    public float[]? BaselineLogits { get; init; }
    /// <summary>Per neuron, |top-k ∩ baseline top-k| / k.</summary>
    public float[]? TopKOverlap { get; init; }
    /// <summary>Per neuron, the cosine of the mean-centred logit vectors over the whole vocabulary (model vs baseline).</summary>
    public float[]? LogitCosine { get; init; }

    /// <summary>Neuron <paramref name="neuron"/>'s top tokens.</summary>
    public ReadOnlySpan<int> Tokens(int neuron) => TokenIds.AsSpan(neuron * TopK, TopK);

    /// <summary>The baseline's top tokens of neuron <paramref name="neuron"/> (empty without a baseline).</summary>
    public ReadOnlySpan<int> BaselineTokens(int neuron) => BaselineTokenIds is null ? default : BaselineTokenIds.AsSpan(neuron * TopK, TopK);

    /// <summary>Neurons whose top-1 token is the baseline's; null without a baseline.</summary>
    public int? Top1Unchanged
    {
        get
        {
            if (BaselineTokenIds is null) return null;
            int same = 0;
            for (int j = 0; j < NeuronCount; j++) if (TokenIds[j * TopK] == BaselineTokenIds[j * TopK]) same++;
            return same;
        }
    }

    /// <summary>Share of neurons whose top-1 token is the baseline's, 0…1; null without a baseline.</summary>
    public double? ShareTop1Unchanged => Top1Unchanged is int same ? (double)same / NeuronCount : null;
}
