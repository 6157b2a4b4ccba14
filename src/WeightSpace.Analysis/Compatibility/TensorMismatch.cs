namespace WeightSpace.Analysis.Compatibility;

/// <summary>One way a model does not line up with the base.</summary>
/// <param name="Model">The model's path (its store's <see cref="TensorStore.Path"/>).</param>
/// <param name="Tensor">The tensor name.</param>
/// <param name="Detail">What differs, e.g. <c>missing</c>, <c>extra</c>, <c>shape [4, 3] vs base [5, 3]</c>.</param>
public sealed record TensorMismatch(string Model, string Tensor, string Detail)
{
    /// <summary>Formats as <c>model: tensor 'name': detail</c>.</summary>
    public override string ToString() => $"{Model}: tensor '{Tensor}': {Detail}";
}
