using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Karcher (Riemannian) mean on the unit sphere with equal weights (Karcher 1977; mergekit's karcher):
/// iterate m ← cos‖T‖·m + sin‖T‖·T/‖T‖ with T = Σᵢ αᵢ·θᵢ/sin θᵢ·(uᵢ − cos θᵢ·m), θᵢ = arccos⟨m,uᵢ⟩, until ‖T‖ &lt; tol
/// or max_iter; the result is m·Σᵢαᵢ‖vᵢ‖. Raw weights, αᵢ = 1/n over every input, <c>base_model</c> included as one
/// more input, as mergekit's karcher does (its kernel averages all gathered tensors, the base's among them).</summary>
internal sealed class Karcher() : MergeMethod("karcher", "https://doi.org/10.1002/cpa.3160300502", BaseModelRole.Included, 1, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("max_iter", ParameterScope.Global, 10, 1, 10_000, "Most fixed-point iterations."),
        ParameterSpec.Number("tol", ParameterScope.Global, 1e-5, 0, 1, "Stop when the tangent norm falls below this."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        int m = inputs.Models.Count;
        if (m == 1) { inputs.Models[0].Span.CopyTo(destination); return; }
        int maxIter = (int)inputs.Parameters.Global("max_iter");
        double tol = inputs.Parameters.Global("tol");
        double alpha = 1.0 / m;
        var norms = new double[m];
        for (int i = 0; i < m; i++)
        {
            var v = inputs.Models[i].Span;
            norms[i] = SpanMath.Norm(v);
            if (norms[i] > 0) TensorPrimitives.Divide(v, (float)norms[i], v);   // buffers now hold unit vectors uᵢ
        }
        var valid = Enumerable.Range(0, m).Where(i => norms[i] > tol).ToArray();
        if (valid.Length == 0) { destination.Clear(); return; }
        double a = 1.0 / valid.Length;   // equal weights renormalised over the non-zero inputs
        var mean = destination;
        mean.Clear();
        foreach (int i in valid) TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, (float)a, mean, mean);
        double meanNorm = SpanMath.Norm(mean);
        if (meanNorm < tol) inputs.Models[valid[0]].Span.CopyTo(mean);
        else TensorPrimitives.Divide(mean, (float)meanNorm, mean);

        var tangent = new float[mean.Length];
        for (int iter = 0; iter < maxIter; iter++)
        {
            Array.Clear(tangent);
            foreach (int i in valid)
            {
                var u = inputs.Models[i].Span;
                double cos = Math.Clamp(SpanMath.Dot(mean, u), -1, 1), theta = Math.Acos(cos);
                if (theta < tol) continue;
                float f = (float)(a * theta / Math.Sin(theta));
                TensorPrimitives.MultiplyAdd(u, f, tangent, tangent);
                TensorPrimitives.MultiplyAdd(mean, (float)(-f * cos), tangent, tangent);
            }
            double tn = SpanMath.Norm(tangent);
            if (tn < tol) break;
            SpanMath.LinearCombination(mean, (float)Math.Cos(tn), tangent, (float)(Math.Sin(tn) / tn), mean);
            double un = SpanMath.Norm(mean);
            if (un > tol) TensorPrimitives.Divide(mean, (float)un, mean);
        }
        double scale = 0;
        for (int i = 0; i < m; i++) scale += alpha * norms[i];
        TensorPrimitives.Multiply(mean, (float)scale, mean);
    }
}
