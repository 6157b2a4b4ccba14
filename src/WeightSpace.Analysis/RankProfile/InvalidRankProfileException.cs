namespace WeightSpace.Analysis.RankProfile;

/// <summary>A rank profile cannot be used: a malformed spec or file, an unknown tensor, or a rank out of range.</summary>
public sealed class InvalidRankProfileException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file or option at fault.</param>
    /// <param name="detail">What is wrong, naming the tensor or key and the bad value.</param>
    public InvalidRankProfileException(string source, string detail) : base($"{source}: {detail}") { }
}
