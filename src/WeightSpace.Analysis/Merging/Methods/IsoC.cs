using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

using static TorchSharp.torch;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Iso-C (Marczak et al. 2025, §4.1, eq. 7): Δ = Σᵢ Δᵢ = UΣVᵀ, flatten the spectrum to its mean,
/// Δ_iso = σ̄·UVᵀ with σ̄ = (1/r)Σⱼσⱼ, θ = θ₀ + α·Δ_iso. Tensors that are not matrices take θ₀ + α·ΣᵢΔᵢ (task arithmetic).</summary>
internal sealed class IsoC() : MergeMethod("iso_c", "https://arxiv.org/abs/2502.04959", BaseModelRole.Required, 1, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("alpha", ParameterScope.Global, 1.0, -1e6, 1e6, "Scale of the merged update."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        int t = inputs.Models.Count;
        var baseValues = inputs.Base.Span;
        float alpha = (float)inputs.Parameters.Global("alpha");
        var sum = inputs.Models[0].Span;
        TensorPrimitives.Subtract(sum, baseValues, sum);
        for (int i = 1; i < t; i++)
        {
            TensorPrimitives.Add(sum, inputs.Models[i].Span, sum);
            TensorPrimitives.Subtract(sum, baseValues, sum);
        }
        var shape = inputs.Tensor.Shape;
        baseValues.CopyTo(destination);
        if (shape.Rank != 2 || shape[0] == 0 || shape[1] == 0)
        {
            TensorPrimitives.MultiplyAdd(sum, alpha, destination, destination);
            return;
        }
        using var scope = NewDisposeScope();
        var delta = tensor(sum.ToArray(), [shape[0], shape[1]]);
        var (u, s, vh) = linalg.svd(delta, fullMatrices: false);
        float meanSigma = s.mean().item<float>();
        var iso = matmul(u, vh) * meanSigma;
        var values = iso.contiguous().data<float>().ToArray();
        TensorPrimitives.MultiplyAdd(values, alpha, destination, destination);
    }
}
