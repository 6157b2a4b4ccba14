namespace WeightSpace.Analysis.Merging.Config;

/// <summary>One entry of <c>slices:</c>: output layers merged from equally long layer ranges of its sources.</summary>
/// <param name="Sources">The input ranges.</param>
/// <param name="BaseModel">A slice-level base model overriding the top-level one, or null.</param>
/// <param name="Parameters">Parameters set for this slice.</param>
public sealed record MergeSlice(IReadOnlyList<MergeSliceSource> Sources, string? BaseModel, IReadOnlyDictionary<string, ParameterSetting> Parameters);
