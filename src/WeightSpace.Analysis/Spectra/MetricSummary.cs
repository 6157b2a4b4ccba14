namespace WeightSpace.Analysis.Spectra;

/// <summary>Mean and median of one metric over the layers where it is defined.</summary>
/// <param name="Mean">Arithmetic mean, null when <paramref name="Count"/> is 0.</param>
/// <param name="Median">Median, null when <paramref name="Count"/> is 0.</param>
/// <param name="Count">Layers that contributed.</param>
public sealed record MetricSummary(double? Mean, double? Median, int Count);
