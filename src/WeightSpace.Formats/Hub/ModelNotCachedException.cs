namespace WeightSpace.Formats.Hub;

/// <summary>A model reference is neither a local path nor a repository (or revision) in the local Hugging Face
/// cache. The message says where WeightSpace looked and how to download the model; nothing touched the network.</summary>
public sealed class ModelNotCachedException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reference">The reference as typed (<c>ORG/NAME</c> or <c>ORG/NAME@REVISION</c>).</param>
    /// <param name="message">One line naming the reference, the cache folder and the download command.</param>
    public ModelNotCachedException(string reference, string message) : base(message) => Reference = reference;

    /// <summary>The reference as typed.</summary>
    public string Reference { get; }
}
