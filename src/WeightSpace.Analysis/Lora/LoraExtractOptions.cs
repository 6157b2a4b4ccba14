namespace WeightSpace.Analysis.Lora;

/// <summary>How <see cref="LoraExtraction"/> chooses ranks and what it does with tensors LoRA cannot represent.
/// Mirrors mergekit-extract-lora's options (named in each summary).</summary>
public sealed record LoraExtractOptions
{
    /// <summary>Rank of every module (mergekit <c>--max-rank</c>, default 16 here, 128 in mergekit); with <see cref="Energy"/>, the largest rank allowed.</summary>
    public int Rank { get; init; } = 16;

    /// <summary>Choose each module's rank as the smallest that keeps this fraction of ‖ΔW‖²_F (0 &lt; E ≤ 1), capped at
    /// <see cref="Rank"/>; null uses <see cref="Rank"/> everywhere.</summary>
    public double? Energy { get; init; }

    /// <summary>Singular values at or below this are dropped (mergekit <c>--sv-epsilon</c>, default 0).</summary>
    public double SvEpsilon { get; init; }

    /// <summary>Split √σ into both factors (mergekit <c>--distribute-scale</c>, default true); false puts σ in B.</summary>
    public bool DistributeScale { get; init; } = true;

    /// <summary>Changed embeddings as <c>lora_embedding_A/B</c> (mergekit <c>--embed-lora</c>) instead of modules_to_save.</summary>
    public bool EmbedLora { get; init; }

    /// <summary>Modules stored at full rank in modules_to_save (mergekit <c>--save-module</c>): names or suffixes.</summary>
    public IReadOnlyList<string> SaveModules { get; init; } = [];

    /// <summary>Only modules matching one of these regexes are extracted (mergekit <c>--include-regex</c>); empty means all.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Modules matching one of these regexes are left out (mergekit <c>--exclude-regex</c>); they are reported.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Report changed norms, biases and embeddings instead of saving them (mergekit <c>--skip-undecomposable</c>).</summary>
    public bool SkipUndecomposable { get; init; }

    /// <summary>Dtype of the adapter's tensors (default F32).</summary>
    public DType DType { get; init; } = DType.F32;

    /// <summary>Randomized SVD when rank + oversampling ≤ min(m, n) / 4 (default true); false always uses the exact SVD.</summary>
    public bool AllowRandomized { get; init; } = true;

    /// <summary>Extra random directions of the randomized SVD (default 10).</summary>
    public int Oversample { get; init; } = 10;

    /// <summary>Power iterations of the randomized SVD (default 2).</summary>
    public int PowerIterations { get; init; } = 2;

    /// <summary>Seed of the randomized SVD's test matrix.</summary>
    public long Seed { get; init; } = 15;

    /// <summary>Replace a non-empty output folder.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Check that the factors reproduce every outlier weight (super-weight candidate) of the module
    /// (<see cref="ExtractedModule.OutlierChanges"/>); on by default, off with <c>--no-outlier-check</c>.</summary>
    public bool CheckOutliers { get; init; } = true;
}
