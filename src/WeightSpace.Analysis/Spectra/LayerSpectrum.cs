using System.Text.Json.Serialization;

namespace WeightSpace.Analysis.Spectra;

/// <summary>The spectral metrics of one layer (docs/spectra.md defines each). A metric that is undefined for the layer
/// (α of a spectrum with too few eigenvalues, logs of zero, anything of a skipped layer) is null, never NaN, so the
/// record serialises to plain JSON.</summary>
public sealed record LayerSpectrum
{
    /// <summary>Tensor name; WeightWatcher conv slices analysed apart are named <c>name[i,j]</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The tensor's shape as stored.</summary>
    public required IReadOnlyList<long> Shape { get; init; }

    /// <summary><c>dense</c>, <c>conv1d</c>, <c>conv2d</c>, <c>conv2d-slice</c>, <c>embedding</c>, <c>vector</c>,
    /// <c>scalar</c>, <c>tensor</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Analysed, skipped or failed (<c>ok</c>, <c>skipped</c>, <c>failed</c> in JSON and CSV).</summary>
    public required LayerStatus Status { get; init; }

    /// <summary>Why the layer was skipped or failed; null when ok.</summary>
    public string? Reason { get; init; }

    /// <summary>N, the larger side of each analysed matrix.</summary>
    public long? N { get; init; }

    /// <summary>M, the smaller side (eigenvalues per matrix).</summary>
    public long? M { get; init; }

    /// <summary>Q = N/M.</summary>
    public double? Q { get; init; }

    /// <summary>Matrices pooled in the ESD: kh·kw WeightWatcher conv slices, n² operator frequencies, else 1.</summary>
    public int? MatrixCount { get; init; }

    /// <summary>Eigenvalues in the ESD.</summary>
    public int? NumEvals { get; init; }

    /// <summary>‖W‖_F of the stored tensor, before any eigenvalue scaling.</summary>
    public double? FrobeniusNorm { get; init; }

    /// <summary>Largest singular value of the analysed matrices before scaling (the conv's operator norm in
    /// operator mode).</summary>
    public double? SigmaMax { get; init; }

    /// <summary>λ_max, WeightWatcher's "spectral norm".</summary>
    public double? LambdaMax { get; init; }

    /// <summary>log10 λ_max.</summary>
    public double? LogSpectralNorm { get; init; }

    /// <summary>log10 Σλ (= log10 ‖W‖_F² for unscaled dense layers).</summary>
    public double? LogNorm { get; init; }

    /// <summary>Σλ / λ_max.</summary>
    public double? StableRank { get; init; }

    /// <summary>exp of the Shannon entropy of σ_i/Σσ (Roy and Vetterli 2007).</summary>
    public double? EffectiveRank { get; init; }

    /// <summary>Singular values above max(N, M)·ε·σ_max.</summary>
    public int? NumericalRank { get; init; }

    /// <summary>−Σ p ln p / ln(numerical rank), p = λ/Σλ: WeightWatcher's normalised matrix entropy in [0, 1].</summary>
    public double? MatrixEntropy { get; init; }

    /// <summary>Power-law exponent α (maximum likelihood, with x_min from <see cref="AlphaEstimator"/>).</summary>
    public double? Alpha { get; init; }

    /// <summary>Which estimator produced α: <c>ww</c> (WeightWatcher 0.7.5.5's WWFit) or <c>csn</c> (Clauset–Shalizi–
    /// Newman); null when no α was fitted.</summary>
    public string? AlphaEstimator { get; init; }

    /// <summary>How the eigenvalues were computed: <c>gram</c> (eigvalsh of the Gram matrix) or <c>svd</c>.</summary>
    public string? Solver { get; init; }

    /// <summary>α̂ = α·log10 λ_max.</summary>
    public double? AlphaWeighted { get; init; }

    /// <summary>log10 Σ λ^α.</summary>
    public double? LogAlphaNorm { get; init; }

    /// <summary>Start of the power-law tail.</summary>
    public double? Xmin { get; init; }

    /// <summary>Largest eigenvalue in the fit (below λ_max when fingers were clipped).</summary>
    public double? Xmax { get; init; }

    /// <summary>KS distance of the power-law fit.</summary>
    public double? KsDistance { get; init; }

    /// <summary>Standard error (α − 1)/√n_tail of α.</summary>
    public double? SigmaAlpha { get; init; }

    /// <summary>Eigenvalues in the fitted tail.</summary>
    public int? NumTailEvals { get; init; }

    /// <summary>WeightWatcher's <c>num_pl_spikes</c>: eigenvalues ≥ x_min.</summary>
    public int? NumPlSpikes { get; init; }

    /// <summary>Largest eigenvalues the fingers fix dropped.</summary>
    public int? FingersClipped { get; init; }

    /// <summary>Marchenko–Pastur σ² in the ESD's units.</summary>
    public double? MpVariance { get; init; }

    /// <summary>MP lower bulk edge λ₋.</summary>
    public double? MpLambdaMinus { get; init; }

    /// <summary>MP upper bulk edge λ₊.</summary>
    public double? MpLambdaPlus { get; init; }

    /// <summary>MP soft rank λ₊/λ_max.</summary>
    [JsonPropertyName("mp_softrank")]
    public double? MpSoftRank { get; init; }

    /// <summary>Eigenvalues above λ₊ (WeightWatcher's count, under <see cref="SpectrumOptions.WeightWatcherCompat"/>) or
    /// above λ₊ plus the Tracy–Widom margin.</summary>
    public int? NumSpikes { get; init; }

    /// <summary><c>over-trained</c> (α below the option's bound), <c>under-trained</c> (above it) or null.</summary>
    public string? Warning { get; init; }

    /// <summary>The ESD, ascending, when <see cref="SpectrumOptions.KeepEigenvalues"/> is on.</summary>
    public IReadOnlyList<double>? Eigenvalues { get; init; }

    /// <summary>The shuffled-entries comparison, when <see cref="SpectrumOptions.Randomize"/> is on.</summary>
    public RandomizedSpectrum? Randomized { get; init; }
}
