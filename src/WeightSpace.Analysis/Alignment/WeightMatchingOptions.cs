namespace WeightSpace.Analysis.Alignment;

/// <summary>Settings of <see cref="WeightMatching"/>.</summary>
public sealed record WeightMatchingOptions
{
    /// <summary>Seed of the random group order (the same seed gives the same result); default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Most coordinate-descent sweeps over all groups; default 100 (MLPs converge in under 10).</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>Which spec tensors enter the matching objective; default: all except BatchNorm running statistics,
    /// which are data statistics rather than weights (they are still permuted).</summary>
    public Func<string, bool> IncludeInObjective { get; init; } = DefaultIncludeInObjective;

    /// <summary>Defaults.</summary>
    public static WeightMatchingOptions Default { get; } = new();

    private static bool DefaultIncludeInObjective(string tensor) =>
        !tensor.EndsWith(".running_mean", StringComparison.Ordinal) && !tensor.EndsWith(".running_var", StringComparison.Ordinal);
}
