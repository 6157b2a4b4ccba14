namespace WeightSpace.Analysis.Alignment;

/// <summary>The permutations that align model B to model A, and what they achieved.</summary>
/// <param name="Method">"weight_matching" or "activation_matching".</param>
/// <param name="Permutations">For each group, unit i of aligned B is unit <c>Permutations[group][i]</c> of B; pass to
/// <see cref="PermutationSpec.Apply"/>.</param>
/// <param name="Groups">Per-group objective and distance, before and after.</param>
/// <param name="DistanceBefore">‖θ_A − θ_B‖₂ over every floating-point tensor.</param>
/// <param name="DistanceAfter">‖θ_A − π(θ_B)‖₂ over every floating-point tensor.</param>
/// <param name="Iterations">Coordinate-descent sweeps (weight matching) or 1 (activation matching).</param>
public sealed record AlignmentResult(
    string Method,
    IReadOnlyDictionary<string, int[]> Permutations,
    IReadOnlyList<GroupAlignment> Groups,
    double DistanceBefore,
    double DistanceAfter,
    int Iterations);
