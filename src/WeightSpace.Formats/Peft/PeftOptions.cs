namespace WeightSpace.Formats.Peft;

/// <summary>Limits applied when reading an untrusted PEFT adapter.</summary>
public sealed record PeftOptions
{
    /// <summary>The defaults.</summary>
    public static PeftOptions Default { get; } = new();

    /// <summary>Largest <c>adapter_config.json</c> accepted, in bytes (default 4 MiB; real configs are a few KiB).</summary>
    public int MaxConfigBytes { get; init; } = 4 << 20;

    /// <summary>Largest LoRA rank accepted in the config or its patterns (default 65 536).</summary>
    public int MaxRank { get; init; } = 65_536;

    /// <summary>Most entries accepted in <c>target_modules</c>, <c>modules_to_save</c>, <c>rank_pattern</c> and <c>alpha_pattern</c> together (default 100 000).</summary>
    public int MaxPatternEntries { get; init; } = 100_000;

    /// <summary>Time one regular-expression match of a config pattern may take before the adapter is refused (default 1 s).</summary>
    public TimeSpan RegexTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
