namespace WeightSpace.Analysis.Outliers;

/// <summary>The largest activation of one layer's MLP down projection on a text (Yu et al. 2024, Fig. 2/3).</summary>
/// <param name="Layer">The block index.</param>
/// <param name="OutputChannel">Hidden channel r of the largest |output| (the row of down_proj).</param>
/// <param name="Position">Window position (token) where it occurs.</param>
/// <param name="MaxOutput">That output activation (signed).</param>
/// <param name="OutputRatioToMedian">|output| / median |output| of this layer over all channels and positions.</param>
/// <param name="InputChannel">Intermediate channel c with the largest |input| at that token (the column of down_proj).</param>
/// <param name="MaxInput">That input activation (signed).</param>
/// <param name="Weight">down_proj[r, c].</param>
public sealed record DownProjectionSpike(int Layer, int OutputChannel, int Position, float MaxOutput, double OutputRatioToMedian,
    int InputChannel, float MaxInput, float Weight);
