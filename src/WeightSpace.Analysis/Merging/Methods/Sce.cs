using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>SCE (FuseChat, Wan et al. 2024, §3.3): Select the select_topk fraction of entries with the largest variance
/// across the task vectors, Calculate per-model weights ηᵢ = mean(τᵢ²)/Σⱼ mean(τⱼ²), Erase entries whose sign disagrees
/// with the sign of Στᵢ (zero → +); θ = θ₀ + Σᵢ ηᵢ·mᵢ·τᵢ / max(Σᵢ ηᵢ·mᵢ, 1e-6).</summary>
internal sealed class Sce() : MergeMethod("sce", "https://arxiv.org/abs/2408.07990", BaseModelRole.Required, 1, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("select_topk", ParameterScope.Global, 1.0, 0, 1, "Fraction of entries (by variance across models) kept."),
        ParameterSpec.Int8Mask,
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        int m = inputs.Models.Count;
        var handles = new System.Buffers.MemoryHandle[m];
        try
        {
            for (int i = 0; i < m; i++)
            {
                TensorPrimitives.Subtract(inputs.Models[i].Span, inputs.Base.Span, inputs.Models[i].Span);
                handles[i] = inputs.Models[i].Pin();
            }
            Combine(handles, inputs.Base.Span, destination, inputs.Parameters.Global("select_topk"));
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
    }

    // Pointers: every entry reads all models, and Memory<T>.Span per access would dominate the cost.
    private static unsafe void Combine(System.Buffers.MemoryHandle[] handles, ReadOnlySpan<float> baseValues, Span<float> destination, double topk)
    {
        int m = handles.Length, n = destination.Length;
        var taus = stackalloc float*[m];
        for (int i = 0; i < m; i++) taus[i] = (float*)handles[i].Pointer;
        if (topk < 1)
        {
            // destination holds the variance across models while the mask is chosen.
            int nonZero = 0;
            for (int j = 0; j < n; j++)
            {
                double mean = 0, sq = 0;
                for (int i = 0; i < m; i++) mean += taus[i][j];
                mean /= m;
                for (int i = 0; i < m; i++) { double d = taus[i][j] - mean; sq += d * d; }
                destination[j] = (float)(sq / m);
                if (destination[j] != 0) nonZero++;
            }
            long k = topk <= 0 ? 0 : (long)(nonZero * topk);
            var keep = new bool[n];
            MagnitudeSelection.TopKMask(destination, k, keep);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) if (!keep[j]) taus[i][j] = 0;
        }
        var eta = new double[m];
        for (int i = 0; i < m; i++) eta[i] = n == 0 ? 0 : SpanMath.SumOfSquares(new ReadOnlySpan<float>(taus[i], n)) / n;
        double etaSum = eta.Sum();
        for (int i = 0; i < m; i++) eta[i] = Math.Abs(etaSum) < 1e-6 ? 1.0 / m : eta[i] / etaSum;
        for (int j = 0; j < n; j++)
        {
            float vote = 0;
            for (int i = 0; i < m; i++) vote += taus[i][j];
            int elected = vote >= 0 ? 1 : -1;
            double sum = 0, wsum = 0;
            for (int i = 0; i < m; i++)
            {
                float t = taus[i][j];
                if (t == 0 || (t > 0 ? 1 : -1) != elected) continue;
                sum += eta[i] * t;
                wsum += eta[i];
            }
            destination[j] = (float)(baseValues[j] + sum / Math.Max(wsum, 1e-6));
        }
    }
}
