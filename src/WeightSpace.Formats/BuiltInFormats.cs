namespace WeightSpace.Formats;

/// <summary>The explicit list of formats WeightSpace reads (no reflection, no registration side effects).</summary>
internal static class BuiltInFormats
{
    public static IReadOnlyList<ICheckpointFormat> All { get; } = [];
}
