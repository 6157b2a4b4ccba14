namespace WeightSpace.Formats.Pickle;

/// <summary>Limits of the restricted unpickler; each format that embeds pickles (torch.save) maps its own options onto
/// these, so the unpickler knows nothing of the formats above it.</summary>
public sealed record UnpicklerLimits
{
    /// <summary>Largest pickle accepted, in bytes (used in the message when a pickle is cut at this limit).</summary>
    public long MaxPickleBytes { get; init; } = 256L << 20;

    /// <summary>Most memo entries a pickle may create (PUT/BINPUT/LONG_BINPUT/MEMOIZE).</summary>
    public int MaxMemoEntries { get; init; } = 10_000_000;

    /// <summary>Most items a single container may hold.</summary>
    public long MaxContainerItems { get; init; } = 10_000_000;
}
