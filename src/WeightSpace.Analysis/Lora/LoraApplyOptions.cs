namespace WeightSpace.Analysis.Lora;

/// <summary>How <c>LoraApplication.Write</c> writes the merged model.</summary>
public sealed record LoraApplyOptions
{
    /// <summary>Dtype of every floating-point output tensor; null keeps each base tensor's dtype (PEFT's behaviour).</summary>
    public DType? DType { get; init; }

    /// <summary>Largest shard in bytes (default 5 GB, as merge).</summary>
    public long ShardSizeBytes { get; init; } = Merging.Output.MergeDirectoryOptions.DefaultShardSizeBytes;

    /// <summary>Replace a non-empty output directory.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Directory whose config and tokenizer files are copied (usually the base's); null copies none.</summary>
    public string? CopyFilesFrom { get; init; }
}
