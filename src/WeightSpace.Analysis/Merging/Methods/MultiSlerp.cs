using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Weighted spherical average of N tensors in one step (mergekit's multislerp, after Buss &amp; Fillmore 2001, §3):
/// uᵢ = vᵢ/‖vᵢ‖, m = Σwᵢuᵢ/‖Σwᵢuᵢ‖, tangent T = Σwᵢ(uᵢ − ⟨uᵢ,m⟩m), result = (cos‖T‖·m + sin‖T‖·T/‖T‖)·Σwᵢ‖vᵢ‖,
/// where vᵢ are task vectors when a base is given (θ₀ added back). If ‖Σwᵢuᵢ‖ &lt; eps: lerp for two inputs, error otherwise.</summary>
internal sealed class MultiSlerp() : MergeMethod("multislerp", "https://doi.org/10.1145/502122.502124", BaseModelRole.Optional, 2, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Weight,
        ParameterSpec.Flag("normalize_weights", true, "Divide the weights by their sum."),
        ParameterSpec.Number("eps", ParameterScope.Global, 1e-8, 0, 1, "Guard against division by zero norms."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var p = inputs.Parameters;
        int m = inputs.Models.Count;
        double eps = p.Global("eps");
        var w = new double[m];
        for (int i = 0; i < m; i++) w[i] = p.PerModel("weight", i);
        if (p.Flag("normalize_weights"))
        {
            double s = w.Sum();
            for (int i = 0; i < m; i++) w[i] /= s;
        }
        var norms = new double[m];
        for (int i = 0; i < m; i++)
        {
            var v = inputs.Models[i].Span;
            if (inputs.HasBase) TensorPrimitives.Subtract(v, inputs.Base.Span, v);
            norms[i] = SpanMath.Norm(v);
        }
        // mean = Σ wᵢ vᵢ/(‖vᵢ‖+eps)
        destination.Clear();
        for (int i = 0; i < m; i++) TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, (float)(w[i] / (norms[i] + eps)), destination, destination);
        double meanNorm = SpanMath.Norm(destination);
        if (meanNorm < eps)
        {
            if (m != 2)
                throw new WeightSpaceException($"multislerp: tensor '{inputs.Tensor.Name}': the weighted mean direction is zero (inputs cancel); no spherical mean exists.");
            SpanMath.LinearCombination(inputs.Models[0].Span, (float)w[0], inputs.Models[1].Span, (float)w[1], destination);
        }
        else
        {
            TensorPrimitives.Divide(destination, (float)meanNorm, destination);   // destination = unit mean m
            // Tangent: T = Σ wᵢ(uᵢ − ⟨uᵢ,m⟩m) = Σ wᵢuᵢ − (Σ wᵢ⟨uᵢ,m⟩) m, built in the first model's buffer after the dots are known.
            var dots = new double[m];
            for (int i = 0; i < m; i++) dots[i] = SpanMath.Dot(inputs.Models[i].Span, destination) / (norms[i] + eps);
            double c = 0;
            for (int i = 0; i < m; i++) c += w[i] * dots[i];
            var tangent = inputs.Models[0].Span;
            TensorPrimitives.Multiply(tangent, (float)(w[0] / (norms[0] + eps)), tangent);
            for (int i = 1; i < m; i++) TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, (float)(w[i] / (norms[i] + eps)), tangent, tangent);
            TensorPrimitives.MultiplyAdd(destination, (float)-c, tangent, tangent);
            double tn = SpanMath.Norm(tangent) + eps;
            double avgNorm = 0;
            for (int i = 0; i < m; i++) avgNorm += w[i] * norms[i];
            SpanMath.LinearCombination(destination, (float)(Math.Cos(tn) * avgNorm), tangent, (float)(Math.Sin(tn) / tn * avgNorm), destination);
        }
        if (inputs.HasBase) TensorPrimitives.Add(destination, inputs.Base.Span, destination);
    }
}
