using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Analysis.Connectivity;

/// <summary>Settings of <see cref="LinearModeConnectivity.Interpolate"/>.</summary>
public sealed record ConnectivityOptions
{
    /// <summary>Evenly spaced alphas from 0 to 1 inclusive; default 25. An even count also gets α = 0.5, which the
    /// midpoint barrier needs.</summary>
    public int Points { get; init; } = 25;

    /// <summary>If set, BatchNorm statistics are recomputed on these samples at every α before evaluating (the
    /// evaluator must implement <see cref="Evaluation.INormalizationReset"/>); use a few thousand training samples.</summary>
    public Dataset? NormalizationResetData { get; init; }

    /// <summary>Defaults.</summary>
    public static ConnectivityOptions Default { get; } = new();
}
