namespace WeightSpace.Analysis.Heads;

/// <summary>The attention projections cannot be split into heads: inconsistent head counts, shapes that do not fit
/// them, a missing projection, or a layer that does not exist.</summary>
public sealed class InvalidHeadLayoutException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file, tensor or option at fault.</param>
    /// <param name="detail">What is wrong, with the offending numbers.</param>
    public InvalidHeadLayoutException(string source, string detail) : base($"{source}: {detail}") { }
}
