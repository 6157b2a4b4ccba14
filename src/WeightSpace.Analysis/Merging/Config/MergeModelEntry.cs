namespace WeightSpace.Analysis.Merging.Config;

/// <summary>One entry of <c>models:</c>: a model reference and its per-model parameters.</summary>
/// <param name="Model">The model reference (a path or name the caller maps to an opened store).</param>
/// <param name="Parameters">Parameters set for this model.</param>
public sealed record MergeModelEntry(string Model, IReadOnlyDictionary<string, ParameterSetting> Parameters);
