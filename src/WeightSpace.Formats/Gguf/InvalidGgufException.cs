namespace WeightSpace.Formats.Gguf;

/// <summary>A GGUF file is malformed, truncated, inconsistent or hostile. The message names the file, the tensor or
/// metadata key at fault and the bad number.</summary>
public sealed class InvalidGgufException : InvalidCheckpointException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file at fault.</param>
    /// <param name="tensorName">The tensor at fault, if any.</param>
    /// <param name="key">The metadata key at fault, if any.</param>
    /// <param name="detail">What is wrong, with the offending numbers.</param>
    /// <param name="inner">The low-level error this replaces, if any.</param>
    public InvalidGgufException(string path, string? tensorName, string? key, string detail, Exception? inner = null)
        : base(path, tensorName, key is null ? detail : $"key '{key}': {detail}", inner)
    {
        Key = key;
    }

    /// <summary>The metadata key at fault, or null.</summary>
    public string? Key { get; }
}
