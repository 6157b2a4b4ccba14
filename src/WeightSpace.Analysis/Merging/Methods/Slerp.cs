namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Spherical linear interpolation (Shoemake 1985) between the base (t = 0) and one model (t = 1), on the
/// flattened tensors: with Ω the angle between the normalised vectors,
/// slerp(t) = sin((1−t)Ω)/sin Ω · θ₀ + sin(tΩ)/sin Ω · θ₁; when |cos Ω| &gt; 0.9995 (nearly colinear) it falls back to
/// (1−t)θ₀ + tθ₁, as mergekit does.</summary>
internal sealed class Slerp() : MergeMethod("slerp", "https://doi.org/10.1145/325165.325242", BaseModelRole.Required, 1, 1), IReadOnlyInputsMergeMethod
{
    internal const double DotThreshold = 0.9995;

    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("t", ParameterScope.Global, null, 0, 1, "Interpolation factor: 0 gives the base, 1 the other model."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        double t = inputs.Parameters.Global("t");
        Interpolate(inputs.Base.Span, inputs.Models[0].Span, t, destination, eps: 1e-8);
    }

    /// <summary>Shared by slerp and nuslerp's flattened form: v0, v1 are interpolated as whole vectors.</summary>
    internal static void Interpolate(ReadOnlySpan<float> v0, ReadOnlySpan<float> v1, double t, Span<float> destination, double eps)
    {
        double n0 = SpanMath.Norm(v0), n1 = SpanMath.Norm(v1);
        // mergekit leaves a vector whose norm is ≤ eps unnormalised.
        double dot = SpanMath.Dot(v0, v1) / ((n0 > eps ? n0 : 1) * (n1 > eps ? n1 : 1));
        if (Math.Abs(dot) > DotThreshold)
        {
            SpanMath.LinearCombination(v0, (float)(1 - t), v1, (float)t, destination);
            return;
        }
        double omega = Math.Acos(dot), sinOmega = Math.Sin(omega);
        double s0 = Math.Sin((1 - t) * omega) / sinOmega, s1 = Math.Sin(t * omega) / sinOmega;
        SpanMath.LinearCombination(v0, (float)s0, v1, (float)s1, destination);
    }
}
