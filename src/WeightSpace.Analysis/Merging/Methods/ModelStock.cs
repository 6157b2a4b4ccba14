using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Model Stock (Jang et al. 2024, eq. 5): θ = t·θ̄ + (1 − t)·θ₀ with θ̄ the mean of the N fine-tunes and
/// t = N·cos φ/(1 + (N − 1)·cos φ), cos φ the mean pairwise cosine between the task vectors (clamped to [−1, 1], norms
/// clamped below at 1e-6, as mergekit). filter_wise computes t per row of the tensor viewed as [dim0, rest].</summary>
internal sealed class ModelStock() : MergeMethod("model_stock", "https://arxiv.org/abs/2403.19522", BaseModelRole.Required, 2, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Flag("filter_wise", false, "Compute the interpolation ratio per row instead of per tensor."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var shape = inputs.Tensor.Shape;
        int rows = inputs.Parameters.Flag("filter_wise") && shape.Rank >= 2 ? (int)shape[0] : 1;
        int n = inputs.Length, len = rows == 0 ? 0 : n / rows;
        int count = inputs.Models.Count;
        var baseValues = inputs.Base.Span;
        for (int r = 0; r < rows; r++)
        {
            int start = r * len;
            var b = baseValues.Slice(start, len);
            double cosSum = 0;
            int pairs = 0;
            for (int i = 0; i < count; i++)
                for (int j = i + 1; j < count; j++)
                {
                    cosSum += Cosine(inputs.Models[i].Span.Slice(start, len), inputs.Models[j].Span.Slice(start, len), b);
                    pairs++;
                }
            double cos = cosSum / pairs;
            double t = count * cos / (1 + (count - 1) * cos);
            var d = destination.Slice(start, len);
            d.Clear();
            for (int i = 0; i < count; i++) TensorPrimitives.Add(d, inputs.Models[i].Span.Slice(start, len), d);
            SpanMath.LinearCombination(d, (float)(t / count), b, (float)(1 - t), d);
        }
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> c, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nc = 0;
        for (int k = 0; k < a.Length; k++)
        {
            double x = a[k] - b[k], y = c[k] - b[k];
            dot += x * y; na += x * x; nc += y * y;
        }
        return Math.Clamp(dot / Math.Max(Math.Sqrt(na) * Math.Sqrt(nc), 1e-6), -1, 1);
    }
}
