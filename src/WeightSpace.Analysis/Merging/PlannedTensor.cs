namespace WeightSpace.Analysis.Merging;

/// <summary>How one output tensor is made.</summary>
/// <param name="Output">Name, output dtype and shape.</param>
/// <param name="Base">θ₀'s source, or null when the method runs without a base.</param>
/// <param name="Models">The merged models' sources, in config order.</param>
/// <param name="Parameters">Parameter values resolved for this tensor.</param>
/// <param name="IsCopy">True for non-float tensors (integers, bool), copied verbatim from the base (or the first source).</param>
/// <param name="Seed">Seed of this tensor (run seed mixed with the output name).</param>
public sealed record PlannedTensor(TensorInfo Output, TensorSource? Base, IReadOnlyList<TensorSource> Models, MergeParameters Parameters, bool IsCopy, ulong Seed)
{
    /// <summary>Float32 working buffers the runner holds for this tensor: inputs plus the output.</summary>
    public long WorkingElements => IsCopy ? 0 : checked(Output.ElementCount * (Models.Count + (Base is null ? 0 : 1) + 1));
}
