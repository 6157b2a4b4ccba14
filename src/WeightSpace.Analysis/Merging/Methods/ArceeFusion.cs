namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>mergekit's arcee_fusion: importance Iⱼ = |θⱼ − θ₀ⱼ| · KL(p‖q) of its row, with p = softmax(θ) + 10⁻⁸ and
/// q = softmax(θ₀) + 10⁻⁸ along the last dimension and KL = Σ p·log(p/q); the threshold is median + 1.5·(Q₃ − Q₁) of all
/// Iⱼ (quantiles as mergekit takes them: sorted values at index ⌊q·(n − 1)⌋); θ = θ₀ + (θ − θ₀)·[Iⱼ ≥ threshold].</summary>
/// <remarks>mergekit estimates the quantiles from 10⁶ random elements when a tensor is larger; here they are exact
/// (deterministic), which equals mergekit's on every tensor of at most 10⁶ elements.</remarks>
internal sealed class ArceeFusion() : MergeMethod("arcee_fusion", "https://arcee.ai", BaseModelRole.Required, 1, 1)
{
    private const double Eps = 1e-8;

    public override IReadOnlyList<ParameterSpec> Parameters { get; } = [];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var b = inputs.Base.Span;
        var m = inputs.Models[0].Span;
        int n = destination.Length;
        if (n == 0) return;
        var shape = inputs.Tensor.Shape;
        int cols = shape.Rank == 0 ? 1 : (int)shape[-1];
        var importance = new float[n];
        for (int start = 0; start < n; start += cols)
        {
            float kl = RowKl(m.Slice(start, cols), b.Slice(start, cols));
            for (int j = start; j < start + cols; j++) importance[j] = MathF.Abs(m[j] - b[j]) * kl;
        }
        var sorted = (float[])importance.Clone();
        Array.Sort(sorted);
        // q·(n − 1) in float32 then truncated, as torch computes (q.float() * (numel − 1)).long().
        float Quantile(float q) => sorted[(long)(q * (float)(n - 1))];
        float threshold = Quantile(0.5f) + 1.5f * (Quantile(0.75f) - Quantile(0.25f));
        for (int j = 0; j < n; j++) destination[j] = importance[j] >= threshold ? b[j] + (m[j] - b[j]) : b[j];
    }

    // Σ p·log(p/q) over one row, p and q softmaxes plus 1e-8 (float32 like torch's F.softmax on float32 inputs).
    private static float RowKl(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var p = Softmax(x);
        var q = Softmax(y);
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            float pi = p[i] + (float)Eps, qi = q[i] + (float)Eps;
            sum += pi * MathF.Log(pi / qi);
        }
        return (float)sum;
    }

    private static float[] Softmax(ReadOnlySpan<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) max = MathF.Max(max, v);
        var e = new float[x.Length];
        double total = 0;
        for (int i = 0; i < x.Length; i++) { e[i] = MathF.Exp(x[i] - max); total += e[i]; }
        for (int i = 0; i < e.Length; i++) e[i] = (float)(e[i] / total);
        return e;
    }
}
