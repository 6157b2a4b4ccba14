namespace WeightSpace.Analysis.Spectra;

/// <summary>The ESD of a layer whose entries were shuffled (seeded), compared with the real one.</summary>
/// <param name="LambdaMax">λ_max of the shuffled matrix.</param>
/// <param name="MpLambdaPlus">MP bulk edge fitted to the shuffled ESD.</param>
/// <param name="NumTraps">Correlation traps: shuffled eigenvalues above that bulk's spike threshold. Shuffling destroys
/// correlations, so these come from a few huge entries (or a non-zero mean, which leaves one spike).</param>
/// <param name="RandDistance">Jensen–Shannon distance between the log10 λ histograms of the real and shuffled ESDs,
/// natural log, in [0, √ln 2].</param>
/// <param name="Eigenvalues">The shuffled ESD, ascending, when eigenvalues are kept.</param>
public sealed record RandomizedSpectrum(
    double LambdaMax, double MpLambdaPlus, int NumTraps, double? RandDistance, IReadOnlyList<double>? Eigenvalues);
