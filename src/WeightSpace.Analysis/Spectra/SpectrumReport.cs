namespace WeightSpace.Analysis.Spectra;

/// <summary>Spectral analysis of one checkpoint: every tensor appears in <paramref name="Layers"/>, analysed or with
/// the reason it was skipped or failed, in checkpoint order.</summary>
/// <param name="Path">The checkpoint's path.</param>
/// <param name="Layers">One entry per tensor (per slice when conv slices are not pooled).</param>
/// <param name="Summary">Whole-model means and medians.</param>
public sealed record SpectrumReport(string Path, IReadOnlyList<LayerSpectrum> Layers, SpectrumSummary Summary);
