namespace WeightSpace.Reports.Html;

/// <summary>How much a headline finding matters to the reader.</summary>
public enum FindingLevel
{
    /// <summary>A neutral fact ("3 models, 26k parameters each").</summary>
    Info,
    /// <summary>Something good ("barrier 0.91 → 0.04 after alignment").</summary>
    Good,
    /// <summary>Something to look at ("layers 3 and 7 look over-trained (α &lt; 2)").</summary>
    Warning,
}
