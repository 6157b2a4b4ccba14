namespace WeightSpace.Formats;

/// <summary>Limits and choices for opening checkpoints of any format. Defaults are safe for untrusted files.</summary>
public sealed partial record CheckpointOptions
{
    /// <summary>The defaults.</summary>
    public static CheckpointOptions Default { get; } = new();
}
