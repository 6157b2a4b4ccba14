using MathNet.Numerics.Statistics;

namespace WeightSpace.Analysis.Spectra;

/// <summary>Builds the whole-model <see cref="SpectrumSummary"/>.</summary>
internal static class SpectrumSummaries
{
    public static SpectrumSummary Summarize(IReadOnlyList<LayerSpectrum> layers)
    {
        var ok = layers.Where(l => l.Status == LayerStatus.Ok).ToArray();
        return new SpectrumSummary
        {
            LayersOk = ok.Length,
            LayersSkipped = layers.Count(l => l.Status == LayerStatus.Skipped),
            LayersFailed = layers.Count(l => l.Status == LayerStatus.Failed),
            OverTrained = ok.Count(l => l.Warning == "over-trained"),
            UnderTrained = ok.Count(l => l.Warning == "under-trained"),
            Alpha = Of(ok, l => l.Alpha),
            AlphaWeighted = Of(ok, l => l.AlphaWeighted),
            LogAlphaNorm = Of(ok, l => l.LogAlphaNorm),
            LogNorm = Of(ok, l => l.LogNorm),
            LogSpectralNorm = Of(ok, l => l.LogSpectralNorm),
            StableRank = Of(ok, l => l.StableRank),
            EffectiveRank = Of(ok, l => l.EffectiveRank),
            MatrixEntropy = Of(ok, l => l.MatrixEntropy),
            MpSoftRank = Of(ok, l => l.MpSoftRank),
            KsDistance = Of(ok, l => l.KsDistance),
        };
    }

    internal static MetricSummary Of<T>(IEnumerable<T> items, Func<T, double?> metric)
    {
        var values = items.Select(metric).Where(v => v is not null).Select(v => v!.Value).ToArray();
        if (values.Length == 0) return new MetricSummary(null, null, 0);
        return new MetricSummary(values.Mean(), values.Median(), values.Length);
    }
}
