namespace WeightSpace.Formats.Peft;

/// <summary>A PEFT adapter is malformed, inconsistent with itself, or does not fit the base model it is applied to.</summary>
/// <remarks>The message is one line naming the adapter, the module (or config key) and the offending shapes or values.
/// It is thrown before any output is written.</remarks>
/// <param name="adapter">The adapter folder or file at fault.</param>
/// <param name="subject">The module, tensor or config key at fault; null when the fault is the whole adapter.</param>
/// <param name="detail">What is wrong, with the numbers.</param>
/// <param name="inner">The low-level error this replaces, if any.</param>
public sealed class InvalidAdapterException(string adapter, string? subject, string detail, Exception? inner = null)
    : WeightSpaceException(subject is null ? $"{adapter}: {detail}" : $"{adapter}: {subject}: {detail}", inner)
{
    /// <summary>The adapter at fault.</summary>
    public string Adapter { get; } = adapter;

    /// <summary>The module, tensor or config key at fault, if any.</summary>
    public string? Subject { get; } = subject;

    /// <summary>What is wrong, without the adapter and subject prefix.</summary>
    public string Detail { get; } = detail;
}
