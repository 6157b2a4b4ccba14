namespace WeightSpace.Analysis.Alignment;

/// <summary>One axis of one tensor that a permutation group acts on.</summary>
/// <param name="Tensor">Tensor name, e.g. <c>fc2.weight</c>.</param>
/// <param name="Axis">Zero-based axis index.</param>
public readonly record struct PermutationAxis(string Tensor, int Axis)
{
    /// <summary>Formats as <c>fc2.weight[1]</c>.</summary>
    public override string ToString() => $"{Tensor}[{Axis}]";
}
