using WeightSpace.Formats.Gguf;

namespace WeightSpace.Formats;

public sealed partial record CheckpointOptions
{
    /// <summary>Limits and naming for GGUF files.</summary>
    public GgufOptions Gguf { get; init; } = new();
}
