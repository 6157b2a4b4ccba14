using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>mergekit's nuslerp: slerp of two models (or of their task vectors when a base is given, adding θ₀ back)
/// with t = w₂/(w₁ + w₂) (0.5 when |w₁ + w₂| &lt; 10⁻⁶, mergekit's fallback), either over the flattened tensor or per vector along the last dimension (along dimension 0
/// with nuslerp_row_wise). res = (sin((1−t)Ω)·v₀ + sin(tΩ)·v₁)/sin Ω, lerp where |sin Ω| &lt; 1e-8.</summary>
internal sealed class NuSlerp() : MergeMethod("nuslerp", "https://github.com/arcee-ai/mergekit/blob/main/docs/merge_methods.md#nuslerp", BaseModelRole.Optional, 2, 2)
{
    private const double Eps = 1e-8;

    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Weight,
        ParameterSpec.Flag("nuslerp_flatten", true, "Interpolate the flattened tensors as one vector."),
        ParameterSpec.Flag("nuslerp_row_wise", false, "Without flattening, interpolate vectors along dimension 0 instead of the last."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var p = inputs.Parameters;
        double w0 = p.PerModel("weight", 0), w1 = p.PerModel("weight", 1);
        // mergekit's fallback: weights summing to (nearly) zero give t = 0.5 instead of a division by zero.
        double t = Math.Abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
        var v0 = inputs.Models[0].Span;
        var v1 = inputs.Models[1].Span;
        if (inputs.HasBase)
        {
            TensorPrimitives.Subtract(v0, inputs.Base.Span, v0);
            TensorPrimitives.Subtract(v1, inputs.Base.Span, v1);
        }
        var shape = inputs.Tensor.Shape;
        if (p.Flag("nuslerp_flatten") || shape.Rank < 2)
            Pair(v0, v1, t, destination);
        else if (!p.Flag("nuslerp_row_wise"))
        {
            int len = (int)shape[-1];
            for (int start = 0; start < v0.Length; start += len)
                Pair(v0.Slice(start, len), v1.Slice(start, len), t, destination.Slice(start, len));
        }
        else
        {
            // Vectors along dimension 0: element k of vector c sits at k·stride + c.
            int rows = (int)shape[0], stride = v0.Length / rows;
            var a = new float[rows];
            var b = new float[rows];
            var r = new float[rows];
            for (int c = 0; c < stride; c++)
            {
                for (int k = 0; k < rows; k++) { a[k] = v0[k * stride + c]; b[k] = v1[k * stride + c]; }
                Pair(a, b, t, r);
                for (int k = 0; k < rows; k++) destination[k * stride + c] = r[k];
            }
        }
        if (inputs.HasBase) TensorPrimitives.Add(destination, inputs.Base.Span, destination);
    }

    private static void Pair(ReadOnlySpan<float> v0, ReadOnlySpan<float> v1, double t, Span<float> destination)
    {
        double n0 = Math.Max(SpanMath.Norm(v0), Eps), n1 = Math.Max(SpanMath.Norm(v1), Eps);
        double cos = Math.Clamp(SpanMath.Dot(v0, v1) / (n0 * n1), -1, 1);
        double theta = Math.Acos(cos), sin = Math.Sin(theta);
        if (Math.Abs(sin) < Eps)
            SpanMath.LinearCombination(v0, (float)(1 - t), v1, (float)t, destination);
        else
            SpanMath.LinearCombination(v0, (float)(Math.Sin((1 - t) * theta) / sin), v1, (float)(Math.Sin(t * theta) / sin), destination);
    }
}
