using System.Numerics.Tensors;
using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>SCE (FuseChat, Wan et al. 2024, §3.3): Select the select_topk fraction of entries with the largest variance
/// across the task vectors, Calculate per-model weights ηᵢ = mean(τᵢ²)/Σⱼ mean(τⱼ²), Erase entries whose sign disagrees
/// with the sign of Στᵢ (zero → +); θ = θ₀ + Σᵢ ηᵢ·mᵢ·τᵢ / max(Σᵢ ηᵢ·mᵢ, 1e-6).</summary>
internal sealed class Sce : IMergeMethod
{
    public string Name => "sce";
    public Uri Paper { get; } = new("https://arxiv.org/abs/2408.07990");
    public BaseModelRole BaseModel => BaseModelRole.Required;
    public int MinimumModels => 1;
    public int MaximumModels => int.MaxValue;
    public IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("select_topk", ParameterScope.Global, 1.0, 0, 1, "Fraction of entries (by variance across models) kept."),
        ParameterSpec.Int8Mask,
    ];

    public void Merge(in MergeInputs inputs, Span<float> destination)
    {
        int m = inputs.Models.Count, n = inputs.Length;
        var baseValues = inputs.Base.Span;
        for (int i = 0; i < m; i++) TensorPrimitives.Subtract(inputs.Models[i].Span, baseValues, inputs.Models[i].Span);
        double topk = inputs.Parameters.Global("select_topk");
        if (topk < 1)
        {
            // destination holds the variance across models while the mask is chosen.
            int nonZero = 0;
            for (int j = 0; j < n; j++)
            {
                double mean = 0, sq = 0;
                for (int i = 0; i < m; i++) mean += inputs.Models[i].Span[j];
                mean /= m;
                for (int i = 0; i < m; i++) { double d = inputs.Models[i].Span[j] - mean; sq += d * d; }
                destination[j] = (float)(sq / m);
                if (destination[j] != 0) nonZero++;
            }
            long k = topk <= 0 ? 0 : (long)(nonZero * topk);
            var keep = new bool[n];
            MagnitudeSelection.TopKMask(destination, k, keep);
            for (int i = 0; i < m; i++)
            {
                var tau = inputs.Models[i].Span;
                for (int j = 0; j < n; j++) if (!keep[j]) tau[j] = 0;
            }
        }
        var eta = new double[m];
        for (int i = 0; i < m; i++) eta[i] = n == 0 ? 0 : SpanMath.SumOfSquares(inputs.Models[i].Span) / n;
        double etaSum = eta.Sum();
        for (int i = 0; i < m; i++) eta[i] = Math.Abs(etaSum) < 1e-6 ? 1.0 / m : eta[i] / etaSum;
        for (int j = 0; j < n; j++)
        {
            double vote = 0;
            for (int i = 0; i < m; i++) vote += inputs.Models[i].Span[j];
            int elected = vote >= 0 ? 1 : -1;
            double sum = 0, wsum = 0;
            for (int i = 0; i < m; i++)
            {
                float t = inputs.Models[i].Span[j];
                if (Math.Sign(t) != elected) continue;
                sum += eta[i] * t;
                wsum += eta[i];
            }
            destination[j] = (float)(baseValues[j] + sum / Math.Max(wsum, 1e-6));
        }
    }
}
