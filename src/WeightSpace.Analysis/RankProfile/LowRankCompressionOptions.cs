namespace WeightSpace.Analysis.RankProfile;

/// <summary>How <see cref="LowRankCompression.Write"/> lays out its output.</summary>
public sealed record LowRankCompressionOptions
{
    /// <summary>Which matrices a rule (energy, suggested, rank:N) compresses; a rank file names its own.</summary>
    public RankProfileOptions Coverage { get; init; } = new();

    /// <summary>Store each compressed matrix as two factors (<c>NAME_u</c>, <c>NAME_v</c>) instead of the dense W_r.</summary>
    public bool Factors { get; init; }

    /// <summary>Replace a non-empty output directory.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The folder whose config and tokenizer files are copied beside the weights, or null.</summary>
    public string? CopyFilesFrom { get; init; }
}
