namespace WeightSpace.Analysis.Connectivity;

/// <summary>Loss and accuracy over a grid in the plane through three weight vectors, for a heatmap.</summary>
/// <remarks>Coordinates are in an orthonormal basis of the plane (Garipov et al., NeurIPS 2018, section 4): u along
/// θ_B − θ_A and v along the part of θ_C − θ_A orthogonal to it, both in weight-space L2 units, with θ_A at the origin.</remarks>
/// <param name="X">Grid coordinates along u.</param>
/// <param name="Y">Grid coordinates along v.</param>
/// <param name="Loss">Loss at (X[i], Y[j]) stored at index j·X.Length + i.</param>
/// <param name="Accuracy">Accuracy, same layout.</param>
/// <param name="ModelX">u coordinates of θ_A, θ_B, θ_C.</param>
/// <param name="ModelY">v coordinates of θ_A, θ_B, θ_C.</param>
public sealed record LossPlane(
    double[] X,
    double[] Y,
    double[] Loss,
    double[] Accuracy,
    double[] ModelX,
    double[] ModelY);
