namespace WeightSpace;

/// <summary>Base of every exception WeightSpace throws on purpose. Its message is one line a user can act on.</summary>
public class WeightSpaceException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public WeightSpaceException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the low-level error it replaces.</summary>
    public WeightSpaceException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A checkpoint file (or a tensor in it) is malformed, truncated, inconsistent or hostile.</summary>
/// <remarks>The message names the file and, where one is at fault, the tensor.</remarks>
/// <param name="path">The file at fault.</param>
/// <param name="tensorName">The tensor at fault, if any.</param>
/// <param name="detail">What is wrong, with the offending numbers.</param>
/// <param name="inner">The low-level error this replaces, if any.</param>
public class InvalidCheckpointException(string path, string? tensorName, string detail, Exception? inner = null)
    : WeightSpaceException(Format(path, tensorName, detail), inner)
{
    /// <summary>The file at fault.</summary>
    public string FilePath { get; } = path;
    /// <summary>The tensor at fault, or <see langword="null"/> when the fault is in the file's structure.</summary>
    public string? TensorName { get; } = tensorName;
    /// <summary>What is wrong, without the file and tensor prefix.</summary>
    public string Detail { get; } = detail;

    private static string Format(string path, string? tensor, string detail) =>
        tensor is null ? $"{path}: {detail}" : $"{path}: tensor '{tensor}': {detail}";
}

/// <summary>A pickle in a PyTorch file asks for something the restricted unpickler will not do (import a
/// non-allow-listed global, call it, or build an object). Nothing was executed.</summary>
public sealed class UnsafePickleException : InvalidCheckpointException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file at fault.</param>
    /// <param name="global">The refused global as <c>module.name</c>.</param>
    /// <param name="detail">What the pickle tried to do with it.</param>
    public UnsafePickleException(string path, string global, string detail)
        : base(path, null, $"refused global '{global}': {detail}")
    {
        Global = global;
    }

    /// <summary>The refused global as <c>module.name</c>, e.g. <c>posix.system</c>.</summary>
    public string Global { get; }
}

/// <summary>A file's content matches none of the formats WeightSpace reads.</summary>
public sealed class UnsupportedFormatException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    public UnsupportedFormatException(string path, string detail) : base($"{path}: {detail}") => FilePath = path;
    /// <summary>The file at fault.</summary>
    public string FilePath { get; }
}

/// <summary>A tensor asked for by name is not in the checkpoint.</summary>
/// <param name="path">The checkpoint searched.</param>
/// <param name="tensorName">The missing name.</param>
public sealed class TensorNotFoundException(string path, string tensorName)
    : WeightSpaceException($"{path}: no tensor named '{tensorName}'")
{
    /// <summary>The checkpoint searched.</summary>
    public string FilePath { get; } = path;
    /// <summary>The missing name.</summary>
    public string TensorName { get; } = tensorName;
}
