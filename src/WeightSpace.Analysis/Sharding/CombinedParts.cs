using System.Text.Json.Nodes;

namespace WeightSpace.Analysis.Sharding;

/// <summary>The parts of one run, combined.</summary>
/// <param name="Header">The first part (version, verb, models, options; its items are not the whole).</param>
/// <param name="Items">Every item's result, in the single-run order.</param>
public sealed record CombinedParts(PartFile Header, IReadOnlyList<KeyValuePair<string, JsonNode>> Items);
