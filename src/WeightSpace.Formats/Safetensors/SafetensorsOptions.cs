namespace WeightSpace.Formats.Safetensors;

/// <summary>Limits <see cref="SafetensorsReader"/> applies to untrusted files. The defaults are safe for any file.</summary>
public sealed record SafetensorsOptions
{
    /// <summary>Largest JSON header accepted, in bytes (safetensors stops at 100 MB). Also bounds the size of a
    /// <c>model.safetensors.index.json</c>. The header is read into memory, so this caps what a hostile file can make
    /// the reader allocate before anything is validated.</summary>
    public long MaxHeaderBytes { get; init; } = 100_000_000;

    /// <summary>Deepest JSON nesting accepted in a header or index (objects and arrays). A valid header needs 3
    /// (top-level object, tensor object, shape array); the default of 8 leaves room for nested index metadata.</summary>
    public int MaxJsonDepth { get; init; } = 8;

    internal void Validate()
    {
        if (MaxHeaderBytes < 2)
            throw new ArgumentOutOfRangeException(nameof(MaxHeaderBytes), MaxHeaderBytes, "MaxHeaderBytes must be at least 2 (the header '{}').");
        if (MaxJsonDepth < 3)
            throw new ArgumentOutOfRangeException(nameof(MaxJsonDepth), MaxJsonDepth, "MaxJsonDepth must be at least 3 (object, tensor, shape).");
    }
}
