namespace WeightSpace.Analysis.Outliers;

/// <summary>The result of <see cref="SuperWeights"/>.Detect.</summary>
public sealed record SuperWeightReport
{
    /// <summary>The model folder.</summary>
    public required string Model { get; init; }
    /// <summary>The text whose first windows were fed to find the spikes.</summary>
    public required string ProbeText { get; init; }
    /// <summary>Tokens fed for detection (windows × window length).</summary>
    public required int ProbeTokens { get; init; }
    /// <summary>Each layer's largest down-projection activation.</summary>
    public required IReadOnlyList<DownProjectionSpike> Layers { get; init; }
    /// <summary>The layer with the largest |down_proj output|: its [r, c] is the super weight.</summary>
    public required DownProjectionSpike SuperWeight { get; init; }
    /// <summary>The super weight's tensor name.</summary>
    public required string Tensor { get; init; }
    /// <summary>Rank of |super weight| among the |weights| of its matrix (1 = largest), and its ratio to the matrix RMS.</summary>
    public required long MagnitudeRank { get; init; }
    /// <summary>|super weight| / RMS of its matrix.</summary>
    public required double RatioToRms { get; init; }
    /// <summary>Perplexity with the super weight (and with the data-free top outlier) zeroed, per text.</summary>
    public required IReadOnlyList<WeightZeroingEffect> Effects { get; init; }
}
