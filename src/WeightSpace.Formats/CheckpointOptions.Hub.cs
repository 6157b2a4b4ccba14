using WeightSpace.Formats.Hub;

namespace WeightSpace.Formats;

public sealed partial record CheckpointOptions
{
    /// <summary>The Hugging Face cache that hub ids (<c>ORG/NAME[@REVISION]</c>) are resolved from;
    /// <see cref="HuggingFaceCache.FromEnvironment"/> when null. Nothing is ever downloaded.</summary>
    public HuggingFaceCache? HubCache { get; init; }
}
