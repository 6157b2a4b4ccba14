namespace WeightSpace.Analysis.Spectra;

/// <summary>Settings of <see cref="SpectrumAnalyzer"/>. Immutable; every default is the safe, WeightWatcher-compatible
/// choice unless its remark says otherwise (docs/spectra.md lists the differences).</summary>
public sealed record SpectrumOptions
{
    /// <summary>Type the SVD runs in (default float32). Weights stored in half precision are widened first.</summary>
    public SpectrumPrecision Precision { get; init; } = SpectrumPrecision.Float32;

    /// <summary>How the checkpoint lays out dense and conv weights (default PyTorch/ONNX).</summary>
    public WeightLayout Layout { get; init; } = WeightLayout.Torch;

    /// <summary>Which spectrum a conv kernel stands for (default WeightWatcher's slices).</summary>
    public ConvSpectrumMode ConvMode { get; init; } = ConvSpectrumMode.WeightWatcher;

    /// <summary>In <see cref="ConvSpectrumMode.WeightWatcher"/> mode, pool the kh·kw slices into one ESD (default true);
    /// when false every slice is its own layer named <c>name[i,j]</c>.</summary>
    public bool PoolConvSlices { get; init; } = true;

    /// <summary>Scale conv eigenvalues as WeightWatcher does (default true): pooled σ²·½, unpooled slices σ²·k²/2 with
    /// k² = kh·kw. Off: λ = σ².</summary>
    public bool ConvEigenvalueScaling { get; init; } = true;

    /// <summary>Side n of the n×n (conv1d: length n) input for <see cref="ConvSpectrumMode.Operator"/>; null means the
    /// kernel's own largest side. Kernels larger than n wrap around (circular padding).</summary>
    public int? OperatorInputSize { get; init; }

    /// <summary>Divide every eigenvalue by N, the larger matrix side (WeightWatcher's <c>normalize=True</c>). Default
    /// false, as in WeightWatcher.</summary>
    public bool NormalizeEigenvalues { get; init; }

    /// <summary>Only tensors whose name matches this regular expression are analysed; the rest are reported as
    /// skipped. Null: all.</summary>
    public string? Filter { get; init; }

    /// <summary>2-D tensors whose name matches this regular expression are embeddings and reported as skipped.</summary>
    public string EmbeddingPattern { get; init; } = @"(?i)(embed|(^|\.)(wte|wpe)(\.|$))";

    /// <summary>Smallest accepted smaller side M of a layer's matrix (default 10, fewer eigenvalues fit nothing).</summary>
    public long MinDimension { get; init; } = 10;

    /// <summary>Largest accepted larger side N of a layer's matrix (default unlimited).</summary>
    public long MaxDimension { get; init; } = long.MaxValue;

    /// <summary>Largest accepted element count of one tensor (default 2^28 = 1 GiB of float32), a memory limit.</summary>
    public long MaxElementCount { get; init; } = 1L << 28;

    /// <summary>The α estimator (default WeightWatcher's, so α reads against WeightWatcher's 2–6 band; docs/spectra.md).</summary>
    public PowerLawEstimator Estimator { get; init; } = PowerLawEstimator.WeightWatcher;

    /// <summary>Follow WeightWatcher 0.7.5.5's <c>analyze()</c> conventions where ours differ (default true): spikes
    /// are the eigenvalues above λ₊ with no Tracy–Widom margin, log α-norm sums over every eigenvalue, and
    /// <c>lm_head</c> is skipped with the embeddings. False: the principled variants (docs/spectra.md).</summary>
    public bool WeightWatcherCompat { get; init; } = true;

    /// <summary>Analyse embeddings (and, under <see cref="WeightWatcherCompat"/>, <c>lm_head</c>) instead of skipping
    /// them as WeightWatcher does (default false).</summary>
    public bool IncludeEmbeddings { get; init; }

    /// <summary>Output heads skipped with the embeddings under <see cref="WeightWatcherCompat"/> unless
    /// <see cref="IncludeEmbeddings"/>.</summary>
    public string HeadPattern { get; init; } = @"(?i)(^|\.)lm_head(\.|$)";

    /// <summary>How eigenvalues are computed (default: the Gram matrix's eigenvalues where that is exact enough).</summary>
    public SpectralSolverKind Solver { get; init; } = SpectralSolverKind.Gram;

    /// <summary>Fewest eigenvalues a power-law tail may have under the CSN estimator (default 10). WeightWatcher's
    /// estimator instead fits any layer with at least 10 eigenvalues and allows tails of 2.</summary>
    public int MinTailCount { get; init; } = 10;

    /// <summary>Apply the "fingers" fix (WeightWatcher <c>fix_fingers='clip_xmax'</c>): see <see cref="PowerLawFit.Fit"/>.</summary>
    public bool ClipFingers { get; init; }

    /// <summary>Most largest eigenvalues the fingers fix may drop (default 10).</summary>
    public int MaxFingers { get; init; } = 10;

    /// <summary>Tracy–Widom scales above the MP bulk edge an eigenvalue must lie to count as a spike (default 2.0234,
    /// the 99% quantile of the TW₁ law).</summary>
    public double TracyWidomScales { get; init; } = MarchenkoPastur.TracyWidom99;

    /// <summary>Also analyse each layer with its entries shuffled (correlation traps, rand-distance). Default false.</summary>
    public bool Randomize { get; init; }

    /// <summary>Seed of the shuffle; with the layer name it fixes every random choice (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Bins of the log10 λ histograms compared by the rand-distance (default 100).</summary>
    public int HistogramBins { get; init; } = 100;

    /// <summary>Keep every eigenvalue in the result, for plots (default true).</summary>
    public bool KeepEigenvalues { get; init; } = true;

    /// <summary>Layers analysed at once (default 1). Each reads one tensor, so memory grows with this.</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    /// <summary>Torch intra-op threads while analysing; null means processor count ÷ <see cref="MaxDegreeOfParallelism"/>.
    /// Torch's thread count is process-wide: it is set for the call and restored after.</summary>
    public int? TorchThreads { get; init; }

    /// <summary>Folder of per-tensor results (<see cref="SpectrumCache"/>): tensors already there are not analysed
    /// again, and each new result is stored as soon as it is computed, so an interrupted run resumes. Null: none.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>α below this flags a layer over-trained (default 2).</summary>
    public double OverTrainedAlpha { get; init; } = 2;

    /// <summary>α above this flags a layer under-trained (default 6).</summary>
    public double UnderTrainedAlpha { get; init; } = 6;

    /// <summary>k of the top-k singular subspaces compared by <see cref="SpectrumAnalyzer.Compare"/> (default 10).</summary>
    public int SubspaceRank { get; init; } = 10;

    /// <summary>A fine-tuned top-k singular vector whose largest |cosine| with the base's vectors is below this is an
    /// intruder dimension (default 0.5).</summary>
    public double IntruderThreshold { get; init; } = 0.5;

    /// <summary>How many of the base's leading singular vectors an intruder is compared with; null means all.</summary>
    public int? IntruderBaseRank { get; init; }

    internal static SpectrumOptions Default { get; } = new();

    internal double MachineEpsilon => Precision == SpectrumPrecision.Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-7;

    /// <exception cref="WeightSpaceException">An option is out of range or a pattern does not compile.</exception>
    internal (Regex? Filter, Regex Embedding, Regex Head) Validate()
    {
        Require(MinDimension >= 1, nameof(MinDimension), MinDimension, "≥ 1");
        Require(MaxDimension >= MinDimension, nameof(MaxDimension), MaxDimension, "≥ MinDimension");
        Require(MaxElementCount >= 1, nameof(MaxElementCount), MaxElementCount, "≥ 1");
        Require(MinTailCount >= 2, nameof(MinTailCount), MinTailCount, "≥ 2");
        Require(MaxFingers >= 0, nameof(MaxFingers), MaxFingers, "≥ 0");
        Require(double.IsFinite(TracyWidomScales), nameof(TracyWidomScales), TracyWidomScales, "finite");
        Require(HistogramBins >= 2, nameof(HistogramBins), HistogramBins, "≥ 2");
        Require(MaxDegreeOfParallelism >= 1, nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "≥ 1");
        Require(TorchThreads is null or >= 1, nameof(TorchThreads), TorchThreads ?? 0, "≥ 1");
        Require(OperatorInputSize is null or >= 1, nameof(OperatorInputSize), OperatorInputSize ?? 0, "≥ 1");
        Require(SubspaceRank >= 1, nameof(SubspaceRank), SubspaceRank, "≥ 1");
        Require(IntruderBaseRank is null or >= 1, nameof(IntruderBaseRank), IntruderBaseRank ?? 0, "≥ 1");
        Require(IntruderThreshold is >= 0 and <= 1, nameof(IntruderThreshold), IntruderThreshold, "in [0, 1]");
        Require(Enum.IsDefined(Estimator), nameof(Estimator), Estimator, "a defined estimator");
        Require(Enum.IsDefined(Solver), nameof(Solver), Solver, "a defined solver");
        return (Filter is null ? null : Compile(Filter, nameof(Filter)), Compile(EmbeddingPattern, nameof(EmbeddingPattern)),
            Compile(HeadPattern, nameof(HeadPattern)));
    }

    private static void Require(bool ok, string option, object value, string rule)
    {
        if (!ok) throw new WeightSpaceException($"SpectrumOptions.{option} must be {rule}; got {value}.");
    }

    private static Regex Compile(string pattern, string option)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw new WeightSpaceException($"SpectrumOptions.{option} '{pattern}' is not a valid regular expression: {e.Message}", e); }
    }
}
