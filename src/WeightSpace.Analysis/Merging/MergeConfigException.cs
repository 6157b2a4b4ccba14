namespace WeightSpace.Analysis.Merging;

/// <summary>A merge configuration is invalid: unknown key or method, missing or out-of-range parameter, missing base model, …
/// Thrown before any tensor is read.</summary>
public sealed class MergeConfigException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The YAML key or parameter at fault.</param>
    /// <param name="line">1-based line in the YAML, if known.</param>
    /// <param name="detail">What is wrong.</param>
    public MergeConfigException(string key, long? line, string detail)
        : base(line is null ? $"merge config: '{key}': {detail}" : $"merge config line {line}: '{key}': {detail}")
    {
        Key = key;
        Line = line;
        Detail = detail;
    }

    /// <summary>The key or parameter at fault.</summary>
    public string Key { get; }
    /// <summary>1-based YAML line, or null.</summary>
    public long? Line { get; }
    /// <summary>What is wrong, without the key prefix.</summary>
    public string Detail { get; }
}
