namespace WeightSpace.Analysis.TaskVectors;

/// <summary>What <see cref="TaskVectorAnalysis"/> computes.</summary>
public sealed record TaskVectorOptions
{
    /// <summary>Fractions f for "share of Σ|Δ| held by the top f of entries by magnitude" (default 1 %, 10 %).</summary>
    public IReadOnlyList<double> TopFractions { get; init; } = [0.01, 0.1];

    /// <summary>How many leading singular values of each 2-D Δ to report (0 disables spectra).</summary>
    public int SingularValueCount { get; init; } = 8;

    /// <summary>Largest 2-D Δ (in elements) whose singular values are computed; bigger ones get none (an SVD of 4096² takes ~8 s).</summary>
    public long MaxSpectrumElements { get; init; } = 4096L * 4096;

    /// <summary>Analyse only the tensors every model shares with the base (same shape and dtype) instead of throwing on mismatches.</summary>
    public bool SkipMismatched { get; init; }
}
