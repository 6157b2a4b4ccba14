namespace WeightSpace.Analysis.Spectra;

/// <summary>Whole-model summary. Means are WeightWatcher's (plain averages over the layers with status ok where the
/// metric is defined); medians resist the odd extreme layer.</summary>
public sealed record SpectrumSummary
{
    /// <summary>Layers with status ok.</summary>
    public required int LayersOk { get; init; }
    /// <summary>Layers skipped, with their reasons in the layer list.</summary>
    public required int LayersSkipped { get; init; }
    /// <summary>Layers that failed.</summary>
    public required int LayersFailed { get; init; }
    /// <summary>Layers flagged over-trained (α below the bound).</summary>
    public required int OverTrained { get; init; }
    /// <summary>Layers flagged under-trained (α above the bound).</summary>
    public required int UnderTrained { get; init; }
    /// <summary>α.</summary>
    public required MetricSummary Alpha { get; init; }
    /// <summary>α̂ = α·log10 λ_max.</summary>
    public required MetricSummary AlphaWeighted { get; init; }
    /// <summary>log10 Σλ^α.</summary>
    public required MetricSummary LogAlphaNorm { get; init; }
    /// <summary>log10 Σλ.</summary>
    public required MetricSummary LogNorm { get; init; }
    /// <summary>log10 λ_max.</summary>
    public required MetricSummary LogSpectralNorm { get; init; }
    /// <summary>Stable rank.</summary>
    public required MetricSummary StableRank { get; init; }
    /// <summary>Entropy effective rank.</summary>
    public required MetricSummary EffectiveRank { get; init; }
    /// <summary>Matrix entropy.</summary>
    public required MetricSummary MatrixEntropy { get; init; }
    /// <summary>MP soft rank.</summary>
    public required MetricSummary MpSoftRank { get; init; }
    /// <summary>KS distance of the power-law fits.</summary>
    public required MetricSummary KsDistance { get; init; }
}
