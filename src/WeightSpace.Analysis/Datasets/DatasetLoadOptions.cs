namespace WeightSpace.Analysis.Datasets;

/// <summary>Limits applied while reading dataset files: every untrusted length is checked against them (and, for
/// uncompressed files, against the file length) before anything is allocated.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>Largest number of elements (pixels, values) one array may declare; default 2^30.</summary>
    public long MaxElementCount { get; init; } = 1L << 30;

    /// <summary>Largest number of dimensions an IDX or .npy array may declare; default 16.</summary>
    public int MaxRank { get; init; } = 16;

    /// <summary>Largest .npy header, in bytes; default 1 MiB (NumPy itself writes under 1 KiB).</summary>
    public int MaxNpyHeaderBytes { get; init; } = 1 << 20;

    /// <summary>Defaults.</summary>
    public static DatasetLoadOptions Default { get; } = new();
}
