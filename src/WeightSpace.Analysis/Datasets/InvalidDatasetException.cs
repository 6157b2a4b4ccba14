namespace WeightSpace.Analysis.Datasets;

/// <summary>A dataset file (IDX, NumPy .npy/.npz or CSV) is malformed, truncated, inconsistent or over a limit.</summary>
/// <remarks>The message names the file and, for CSV, the line.</remarks>
public sealed class InvalidDatasetException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file at fault.</param>
    /// <param name="detail">What is wrong, with the offending numbers.</param>
    /// <param name="inner">The low-level error this replaces, if any.</param>
    public InvalidDatasetException(string path, string detail, Exception? inner = null)
        : base($"{path}: {detail}", inner)
    {
        FilePath = path;
        Detail = detail;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, without the file prefix.</summary>
    public string Detail { get; }
}
