namespace WeightSpace.Analysis.Sharding;

/// <summary>One part of a combined run.</summary>
/// <param name="Path">Where it was read from.</param>
/// <param name="Part">Its content.</param>
public sealed record CombinedPart(string Path, PartFile Part);
