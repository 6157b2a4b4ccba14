namespace WeightSpace.Formats.Gguf;

/// <summary>Limits and choices for <see cref="GgufReader"/>. The defaults are safe for untrusted files and generous
/// for real ones (a 256k-token vocabulary, merges, chat templates).</summary>
public sealed record GgufOptions
{
    /// <summary>Most tensors accepted (real models have a few thousand).</summary>
    public long MaxTensorCount { get; init; } = 1 << 20;

    /// <summary>Most metadata key/value pairs accepted.</summary>
    public long MaxKeyValueCount { get; init; } = 1 << 20;

    /// <summary>Longest string (key, value or tensor name) accepted, in bytes.</summary>
    public long MaxStringBytes { get; init; } = 64 << 20;

    /// <summary>Most elements of one metadata array (a vocabulary of 256k tokens, its merges).</summary>
    public long MaxArrayLength { get; init; } = 1 << 24;

    /// <summary>Deepest nesting of arrays accepted (real files use 1; arrays of arrays are legal).</summary>
    public int MaxArrayDepth { get; init; } = 8;

    /// <summary>Largest header (everything before the tensor data) accepted, in bytes; it is parsed from one span.</summary>
    public long MaxHeaderBytes { get; init; } = 1L << 30;

    /// <summary>Which tensor names and layouts the store shows: <see cref="GgufNaming.HuggingFace"/> (the default) maps
    /// architectures WeightSpace knows (llama) to Hugging Face names with llama.cpp's q/k row permutation undone;
    /// <see cref="GgufNaming.Gguf"/> shows the file's own names and rows.</summary>
    public GgufNaming Naming { get; init; } = GgufNaming.HuggingFace;

    internal void Validate()
    {
        if (MaxTensorCount < 0) throw new ArgumentOutOfRangeException(nameof(MaxTensorCount), MaxTensorCount, "must be ≥ 0");
        if (MaxKeyValueCount < 0) throw new ArgumentOutOfRangeException(nameof(MaxKeyValueCount), MaxKeyValueCount, "must be ≥ 0");
        if (MaxStringBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxStringBytes), MaxStringBytes, "must be ≥ 1");
        if (MaxArrayLength < 0) throw new ArgumentOutOfRangeException(nameof(MaxArrayLength), MaxArrayLength, "must be ≥ 0");
        if (MaxArrayDepth < 1) throw new ArgumentOutOfRangeException(nameof(MaxArrayDepth), MaxArrayDepth, "must be ≥ 1");
        if (MaxHeaderBytes < 24) throw new ArgumentOutOfRangeException(nameof(MaxHeaderBytes), MaxHeaderBytes, "must be ≥ 24 (the fixed header)");
    }
}

/// <summary>How a GGUF store names and lays out its tensors.</summary>
public enum GgufNaming
{
    /// <summary>Hugging Face names and row order where the architecture is known (llama); GGUF names otherwise.</summary>
    HuggingFace,
    /// <summary>The names and row order stored in the file (<c>blk.0.attn_q.weight</c>).</summary>
    Gguf,
}
