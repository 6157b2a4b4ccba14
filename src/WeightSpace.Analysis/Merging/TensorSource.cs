namespace WeightSpace.Analysis.Merging;

/// <summary>One input of a planned tensor: which model, and the tensor's name in it.</summary>
/// <param name="Model">The model reference from the config.</param>
/// <param name="Store">The opened store.</param>
/// <param name="StoredName">The tensor's name in <paramref name="Store"/> (differs from the output name when slices renumber layers).</param>
public sealed record TensorSource(string Model, TensorStore Store, string StoredName);
