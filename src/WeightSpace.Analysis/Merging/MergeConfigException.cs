namespace WeightSpace.Analysis.Merging;

/// <summary>A merge configuration is invalid: unknown key or method, missing or out-of-range parameter, missing base model, …
/// Thrown before any tensor is read.</summary>
/// <param name="key">The YAML key or parameter at fault.</param>
/// <param name="line">1-based line in the YAML, if known.</param>
/// <param name="detail">What is wrong.</param>
public sealed class MergeConfigException(string key, long? line, string detail)
    : WeightSpaceException(line is null ? $"merge config: '{key}': {detail}" : $"merge config line {line}: '{key}': {detail}")
{
    /// <summary>The key or parameter at fault.</summary>
    public string Key { get; } = key;
    /// <summary>1-based YAML line, or null.</summary>
    public long? Line { get; } = line;
    /// <summary>What is wrong, without the key prefix.</summary>
    public string Detail { get; } = detail;
}
