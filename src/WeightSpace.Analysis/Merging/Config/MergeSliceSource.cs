namespace WeightSpace.Analysis.Merging.Config;

/// <summary>One source of an output slice: layers [<paramref name="LayerStart"/>, <paramref name="LayerEnd"/>) of a model.</summary>
/// <param name="Model">The model reference.</param>
/// <param name="LayerStart">First layer (inclusive).</param>
/// <param name="LayerEnd">End layer (exclusive), as mergekit's <c>layer_range</c>.</param>
/// <param name="Parameters">Parameters set for this source.</param>
public sealed record MergeSliceSource(string Model, int LayerStart, int LayerEnd, IReadOnlyDictionary<string, ParameterSetting> Parameters);
