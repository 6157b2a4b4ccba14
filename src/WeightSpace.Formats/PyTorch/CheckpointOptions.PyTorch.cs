using WeightSpace.Formats.PyTorch;

namespace WeightSpace.Formats;

public sealed partial record CheckpointOptions
{
    /// <summary>Limits for PyTorch torch.save files and their pickles.</summary>
    public PyTorchOptions PyTorch { get; init; } = new();
}
