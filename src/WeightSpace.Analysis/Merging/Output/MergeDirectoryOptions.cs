namespace WeightSpace.Analysis.Merging.Output;

/// <summary>How <c>MergeDirectory.Write</c> lays out a merged model directory.</summary>
public sealed record MergeDirectoryOptions
{
    /// <summary>Default shard size: 5 GB (10⁹ bytes), mergekit's <c>--out-shard-size</c> default. Outputs no larger are one file.</summary>
    public const long DefaultShardSizeBytes = 5_000_000_000;

    /// <summary>Largest shard in bytes; an output no larger is written as one <c>model.safetensors</c>, a larger one as
    /// <c>model-0000i-of-0000N.safetensors</c> plus <c>model.safetensors.index.json</c>.</summary>
    public long ShardSizeBytes { get; init; } = DefaultShardSizeBytes;

    /// <summary>Worker threads of <see cref="Planning.MergeRunner"/>.</summary>
    public int MaxParallelism { get; init; } = 2;

    /// <summary>Cap on the merge's working set in bytes (<c>--max-ram</c>), or null for none: see
    /// <see cref="Planning.MergeRunner.Run(Planning.MergePlan, ITensorSink, int, long?, IProgress{MergeProgress}?, CancellationToken)"/>.</summary>
    public long? MaxWorkingSetBytes { get; init; }

    /// <summary>Replace an existing non-empty output directory. Without it such a directory is an error and is left untouched.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Entries of the safetensors <c>__metadata__</c> (e.g. the method and the config text); <c>format: pt</c> is added if absent.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Directory whose model-description files (<c>config.json</c>, <c>generation_config.json</c>, …) are copied, usually the base model's; null copies none.</summary>
    public string? ConfigFilesFrom { get; init; }

    /// <summary>Directory whose tokenizer and vocabulary files are copied (the plan's tokenizer source, else the base's); null copies none.</summary>
    public string? TokenizerFilesFrom { get; init; }

    /// <summary>Files written beside the weights (name → bytes), e.g. the rewritten <c>config.json</c>, <c>README.md</c>
    /// and <c>mergekit_config.yml</c>; a file named here is not copied from <see cref="ConfigFilesFrom"/> or
    /// <see cref="TokenizerFilesFrom"/>.</summary>
    public IReadOnlyDictionary<string, byte[]>? ExtraFiles { get; init; }

    /// <summary>Name of the weights file when the output is not sharded (default <c>model.safetensors</c>; a PEFT adapter uses <c>adapter_model.safetensors</c>).</summary>
    public string WeightsFileName { get; init; } = "model.safetensors";
}
