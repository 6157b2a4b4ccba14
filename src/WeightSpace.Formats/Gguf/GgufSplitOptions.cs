namespace WeightSpace.Formats.Gguf;

/// <summary>How to split a GGUF output into parts the way llama.cpp's <c>gguf-split</c> does: exactly one of
/// <see cref="MaxBytes"/> (<c>--split-max-size</c>) or <see cref="MaxTensors"/> (<c>--split-max-tensors</c>).</summary>
/// <remarks>Parts are named <c>PREFIX-00001-of-0000N.gguf</c> (the output path without <c>.gguf</c> is the prefix);
/// every part carries <c>split.no</c> (UINT16, 0-based), <c>split.count</c> (UINT16) and <c>split.tensors.count</c>
/// (INT32); only the first carries the model's metadata.</remarks>
public sealed record GgufSplitOptions
{
    /// <summary>Soft limit on the tensor data of one part, in bytes, each tensor counted padded to 32 bytes and the
    /// header not counted (gguf-split's rule); a tensor never straddles parts.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>Most tensors in one part.</summary>
    public int? MaxTensors { get; init; }

    internal void Validate()
    {
        if (MaxBytes is null == MaxTensors is null)
            throw new ArgumentException("Give exactly one of MaxBytes (--split-max-size) and MaxTensors (--split-max-tensors), as gguf-split.");
        if (MaxBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "must be ≥ 1");
        if (MaxTensors < 1) throw new ArgumentOutOfRangeException(nameof(MaxTensors), MaxTensors, "must be ≥ 1");
    }
}
