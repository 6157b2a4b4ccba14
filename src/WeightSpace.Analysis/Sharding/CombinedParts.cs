namespace WeightSpace.Analysis.Sharding;

/// <summary>The parts of one run, combined.</summary>
/// <param name="Header">The first part (version, verb, models, options, context; its items are not the whole).</param>
/// <param name="Items">Every item's result, in the single-run order.</param>
/// <param name="Parts">Every part with its path, by shard number (for attachments).</param>
public sealed record CombinedParts(PartFile Header, IReadOnlyList<KeyValuePair<string, JsonNode>> Items, IReadOnlyList<CombinedPart> Parts);
