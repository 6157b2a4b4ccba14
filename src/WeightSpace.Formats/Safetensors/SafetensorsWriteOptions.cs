namespace WeightSpace.Formats.Safetensors;

/// <summary>How <see cref="SafetensorsWriter"/> lays out its output.</summary>
public sealed record SafetensorsWriteOptions
{
    /// <summary>Largest data size of one shard, in bytes. <see langword="null"/> (the default) writes one file;
    /// otherwise the output path is a directory that receives <c>model-00001-of-0000N.safetensors</c> … and
    /// <c>model.safetensors.index.json</c>. Tensors fill shards greedily in the order they are planned; a tensor
    /// larger than this gets a shard of its own.</summary>
    public long? ShardSizeBytes { get; init; }

    /// <summary>String metadata written as <c>__metadata__</c> into every file (in enumeration order); none if
    /// <see langword="null"/> or empty.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
