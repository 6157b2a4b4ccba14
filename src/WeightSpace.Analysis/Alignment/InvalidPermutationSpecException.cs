namespace WeightSpace.Analysis.Alignment;

/// <summary>A permutation spec is malformed, or does not fit the checkpoint it is applied to.</summary>
/// <remarks>The message names the spec's source (file or builder) and, where one is at fault, the tensor.</remarks>
public sealed class InvalidPermutationSpecException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The spec file, or the builder or checkpoint that produced the spec.</param>
    /// <param name="detail">What is wrong, naming the tensor, axis or group.</param>
    /// <param name="inner">The low-level error this replaces, if any.</param>
    public InvalidPermutationSpecException(string source, string detail, Exception? inner = null)
        : base($"{source}: {detail}", inner)
    {
        SpecSource = source;
        Detail = detail;
    }

    /// <summary>The spec file, or the builder or checkpoint that produced the spec.</summary>
    public string SpecSource { get; }

    /// <summary>What is wrong, without the source prefix.</summary>
    public string Detail { get; }
}
