using WeightSpace.Formats.Pickle;

namespace WeightSpace.Formats.PyTorch;

/// <summary>Limits for reading PyTorch <c>torch.save</c> files. The defaults are safe for untrusted files and generous
/// for real checkpoints (a 70B-parameter model's <c>data.pkl</c> is a few MB).</summary>
public sealed record PyTorchOptions
{
    /// <summary>Largest pickle accepted, in bytes (the zip's <c>data.pkl</c>, or each pickle of a legacy file).
    /// Default 256 MiB.</summary>
    public long MaxPickleBytes { get; init; } = 256L << 20;

    /// <summary>Deepest nesting of containers (dicts, lists, tuples) in the object tree. Default 1000, Python's own
    /// recursion limit; deeper trees are refused with <see cref="InvalidCheckpointException"/> rather than
    /// overflowing a stack.</summary>
    public int MaxNestingDepth { get; init; } = 1000;

    /// <summary>Most memo entries a pickle may create (PUT/BINPUT/LONG_BINPUT/MEMOIZE). Default 10,000,000.</summary>
    public int MaxMemoEntries { get; init; } = 10_000_000;

    /// <summary>Most items the object tree may hold, counted over every container each time the tree walk reaches
    /// it, so shared sub-containers (a "billion laughs" DAG) cannot make naming explode. Default 10,000,000.</summary>
    public long MaxContainerItems { get; init; } = 10_000_000;

    /// <summary>Largest non-contiguous tensor gathered into a contiguous buffer when read, in bytes (contiguous tensors
    /// are mapped, not copied, and have no such limit). Default 1 GiB; at most <see cref="Array.MaxLength"/>.</summary>
    public long MaxGatherBytes { get; init; } = 1L << 30;

    /// <summary>Most scalar values (ints, floats, strings, bools, None) of the object tree copied into
    /// <see cref="TensorStore.Metadata"/> as <c>object/&lt;path&gt;</c>. Default 256.</summary>
    public int MaxMetadataEntries { get; init; } = 256;

    /// <summary>The limits the restricted unpickler enforces for these options.</summary>
    internal UnpicklerLimits UnpicklerLimits => new() { MaxPickleBytes = MaxPickleBytes, MaxMemoEntries = MaxMemoEntries, MaxContainerItems = MaxContainerItems };
}
