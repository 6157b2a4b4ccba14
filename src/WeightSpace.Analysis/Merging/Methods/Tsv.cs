using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

using static TorchSharp.torch;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Task Singular Vectors merge (TSV-M, Gargiulo et al. 2025, §4, eq. 6–8): for each 2-D Δᵢ = UᵢΣᵢVᵢᵀ keep the
/// top k = max(1, ⌊r·sv_fraction⌋) components (sv_fraction 0 means 1/T), concatenate U = [U₁ₖ…U_Tₖ], Σ = diag(Σ₁ₖ…Σ_Tₖ),
/// V = [V₁ₖ…V_Tₖ], decorrelate by orthogonal Procrustes (U⊥ = P·Qᵀ from U = P·S·Qᵀ, likewise V⊥), and set
/// θ = θ₀ + α·U⊥ΣV⊥ᵀ. Tensors that are not matrices take θ₀ + α·mean(Δᵢ), as the authors' code does.</summary>
internal sealed class Tsv() : MergeMethod("tsv", "https://arxiv.org/abs/2412.00081", BaseModelRole.Required, 1, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("sv_fraction", ParameterScope.Global, 0, 0, 1, "Fraction of each task's singular components kept; 0 means 1/(number of models)."),
        ParameterSpec.Number("alpha", ParameterScope.Global, 1.0, -1e6, 1e6, "Scale of the merged update."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        int t = inputs.Models.Count;
        var baseValues = inputs.Base.Span;
        float alpha = (float)inputs.Parameters.Global("alpha");
        for (int i = 0; i < t; i++) TensorPrimitives.Subtract(inputs.Models[i].Span, baseValues, inputs.Models[i].Span);
        var shape = inputs.Tensor.Shape;
        if (shape.Rank != 2 || shape[0] == 0 || shape[1] == 0)
        {
            baseValues.CopyTo(destination);
            for (int i = 0; i < t; i++) TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, alpha / t, destination, destination);
            return;
        }
        long rows = shape[0], cols = shape[1], rank = Math.Min(rows, cols);
        double fraction = inputs.Parameters.Global("sv_fraction");
        if (fraction == 0) fraction = 1.0 / t;
        long k = Math.Max(1, (long)Math.Floor(rank * fraction));
        using var scope = NewDisposeScope();
        var us = new Tensor[t];
        var ss = new Tensor[t];
        var vs = new Tensor[t];
        for (int i = 0; i < t; i++)
        {
            var delta = tensor(inputs.Models[i].Span.ToArray(), [rows, cols]);
            var (u, s, vh) = linalg.svd(delta, fullMatrices: false);
            us[i] = u[.., ..(int)k];
            ss[i] = s[..(int)k];
            vs[i] = vh[..(int)k, ..];
        }
        var uCat = cat(us, 1);           // rows × Tk
        var sCat = cat(ss, 0);           // Tk
        var vCat = cat(vs, 0);           // Tk × cols
        var uOrth = Procrustes(uCat);
        var vOrth = Procrustes(vCat);
        var merged = matmul(uOrth * sCat.unsqueeze(0), vOrth);
        var values = merged.contiguous().data<float>().ToArray();
        baseValues.CopyTo(destination);
        TensorPrimitives.MultiplyAdd(values, alpha, destination, destination);
    }

    /// <summary>The nearest matrix with orthonormal rows/columns: P·Qᵀ of the thin SVD P·S·Qᵀ.</summary>
    internal static Tensor Procrustes(Tensor a)
    {
        var (p, _, qh) = linalg.svd(a, fullMatrices: false);
        return matmul(p, qh);
    }
}
