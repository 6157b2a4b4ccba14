namespace WeightSpace.Analysis.Alignment;

/// <summary>What aligning one permutation group achieved, over the tensors it touches.</summary>
/// <param name="Group">Group name.</param>
/// <param name="Size">Number of units permuted.</param>
/// <param name="ObjectiveBefore">Σ ⟨θ_A, θ_B⟩ over the group's tensors before alignment (the weight-matching objective).</param>
/// <param name="ObjectiveAfter">The same with B permuted.</param>
/// <param name="DistanceBefore">‖θ_A − θ_B‖₂ over the group's tensors before alignment.</param>
/// <param name="DistanceAfter">The same with B permuted.</param>
/// <param name="FixedPoints">Units the permutation leaves in place.</param>
public sealed record GroupAlignment(
    string Group,
    int Size,
    double ObjectiveBefore,
    double ObjectiveAfter,
    double DistanceBefore,
    double DistanceAfter,
    int FixedPoints);
