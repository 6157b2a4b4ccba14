using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Formats;

public sealed partial record CheckpointOptions
{
    /// <summary>Limits for safetensors files.</summary>
    public SafetensorsOptions Safetensors { get; init; } = new();
}
