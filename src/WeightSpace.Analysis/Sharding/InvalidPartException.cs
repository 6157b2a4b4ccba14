namespace WeightSpace.Analysis.Sharding;

/// <summary>A part file cannot be read, or parts cannot be combined (different runs, missing or duplicate shards).</summary>
public sealed class InvalidPartException : WeightSpaceException
{
    /// <summary>Creates the exception for the part at <paramref name="path"/> (or the set of parts when null).</summary>
    public InvalidPartException(string? path, string detail, Exception? inner = null)
        : base(path is null ? detail : $"{path}: {detail}", inner) => FilePath = path;

    /// <summary>The part at fault, or null when the fault is in the set.</summary>
    public string? FilePath { get; }
}
