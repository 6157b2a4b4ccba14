namespace WeightSpace.Analysis.Outliers;

/// <summary>What <see cref="OutlierScan.Scan"/> looks at.</summary>
public sealed record OutlierScanOptions
{
    /// <summary>Weights kept per matrix, 1…10000. Default 5.</summary>
    public int TopPerMatrix { get; init; } = 5;

    /// <summary>Only tensors whose name matches; null scans every 2-D floating-point tensor.</summary>
    public Regex? Filter { get; init; }
}
