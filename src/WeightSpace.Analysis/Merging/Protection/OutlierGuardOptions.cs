namespace WeightSpace.Analysis.Merging.Protection;

/// <summary>Which outlier weights <see cref="OutlierGuard"/> watches during a trimming merge, and what it does about them.</summary>
public sealed record OutlierGuardOptions
{
    /// <summary>Write the untrimmed merge's value at every watched coordinate whose value the trim changed (WeightSpace
    /// only; mergekit has no such option). Default false: only report.</summary>
    public bool Protect { get; init; }

    /// <summary>Largest-magnitude weights scanned per matrix and input model (<see cref="Outliers.OutlierScan"/>), 1…10000. Default 5.</summary>
    public int TopPerMatrix { get; init; } = 5;

    /// <summary>A scanned weight is watched only if |w| / RMS of its matrix reaches this. Default 10: the largest of
    /// 10¹⁰ Gaussian weights is about 6.7 × RMS, so only weights no Gaussian tail explains (the super weights of Yu et al.
    /// 2024 are far above) qualify.</summary>
    public double MinRatioToRms { get; init; } = 10;

    /// <summary>A watched coordinate is reported when |merged − untrimmed| exceeds this fraction of the larger of
    /// |untrimmed| and the outlier's |w|. Default 0.01.</summary>
    public double RelativeTolerance { get; init; } = 0.01;

    /// <summary>Tensors scanned, by output name; null scans the MLP down projections (where Yu et al. find super weights).</summary>
    public Regex? Filter { get; init; }
}
