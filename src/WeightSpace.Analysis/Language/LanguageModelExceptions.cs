namespace WeightSpace.Analysis.Language;

/// <summary>A model folder asks for an architecture, tokenizer or option WeightSpace has no implementation of
/// (a <c>model_type</c>, a <c>rope_scaling</c> type, a tokenizer model or pre-tokenizer).</summary>
/// <remarks>The message names the file, the key and the value that is not supported, and what is.</remarks>
/// <param name="path">The file that asks for it (config.json, tokenizer.json).</param>
/// <param name="key">The JSON key, e.g. <c>model_type</c>.</param>
/// <param name="value">The unsupported value.</param>
/// <param name="supported">What is supported, for the message.</param>
public sealed class UnsupportedModelException(string path, string key, string value, string supported)
    : WeightSpaceException($"{path}: {key} '{value}' is not supported (supported: {supported})")
{
    /// <summary>The file at fault.</summary>
    public string FilePath { get; } = path;
    /// <summary>The JSON key at fault.</summary>
    public string Key { get; } = key;
    /// <summary>The unsupported value.</summary>
    public string Value { get; } = value;
}

/// <summary>A <c>config.json</c> or <c>tokenizer.json</c> is malformed: not JSON, too deep or too large, a required
/// key missing, a number out of range, or values that contradict each other.</summary>
/// <param name="path">The file at fault.</param>
/// <param name="key">The key at fault, if one is.</param>
/// <param name="detail">What is wrong, with the offending value.</param>
/// <param name="inner">The low-level error this replaces, if any.</param>
public sealed class InvalidModelConfigException(string path, string? key, string detail, Exception? inner = null)
    : WeightSpaceException(key is null ? $"{path}: {detail}" : $"{path}: '{key}': {detail}", inner)
{
    /// <summary>The file at fault.</summary>
    public string FilePath { get; } = path;
    /// <summary>The key at fault, or null when the fault is the file's structure.</summary>
    public string? Key { get; } = key;
}

/// <summary>A text to evaluate cannot be: it is empty, not UTF-8 where the tokenizer needs UTF-8, too short for one
/// scored prediction, or holds a character the tokenizer cannot encode.</summary>
public sealed class InvalidTextException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The text file (or a label for in-memory text).</param>
    /// <param name="detail">What is wrong, with the byte offset where one applies.</param>
    public InvalidTextException(string path, string detail) : base($"{path}: {detail}") => FilePath = path;

    /// <summary>The text at fault.</summary>
    public string FilePath { get; }
}
