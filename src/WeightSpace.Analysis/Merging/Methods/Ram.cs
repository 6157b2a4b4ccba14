namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>RAM, Reinforced Agent Merging (arXiv 2601.13572, mergekit's <c>ram</c>): with τᵢ = θᵢ − θ₀ and cⱼ the number
/// of models whose |τᵢⱼ| &gt; ε, an element changed by one model takes that change whole, one changed by several takes
/// their mean over those models: θ = θ₀ + Σᵢ τᵢⱼ·[|τᵢⱼ| &gt; ε]·(cⱼ = 1 ? 1 : 1/cⱼ).
/// <see cref="RamPlusTensorLocal"/> rescales the unique part per model.</summary>
internal sealed class Ram() : MergeMethod("ram", "https://arxiv.org/abs/2601.13572", BaseModelRole.Required, 1, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("epsilon", ParameterScope.Global, 1e-5, 0, 1e6, "A task-vector element counts as changed when its magnitude exceeds this."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination) =>
        Combine(inputs, destination, (float)inputs.Parameters.Global("epsilon"), null);

    /// <summary>The shared RAM sum; <paramref name="uniqueScale"/> multiplies each model's unique elements (RAM+), null for 1.</summary>
    internal static void Combine(in MergeInputs inputs, Span<float> destination, float epsilon, double[]? uniqueScale)
    {
        var b = inputs.Base.Span;
        int m = inputs.Models.Count;
        for (int j = 0; j < destination.Length; j++)
        {
            int count = 0;
            for (int i = 0; i < m; i++) if (MathF.Abs(inputs.Models[i].Span[j] - b[j]) > epsilon) count++;
            float sum = 0;
            for (int i = 0; i < m; i++)
            {
                float tau = inputs.Models[i].Span[j] - b[j];
                if (!(MathF.Abs(tau) > epsilon)) continue;
                sum += count == 1 ? tau * (float)(uniqueScale?[i] ?? 1.0) : tau / count;
            }
            destination[j] = b[j] + sum;
        }
    }
}

/// <summary>RAM+ tensor-local (mergekit's <c>ramplus_tl</c>): as <see cref="Ram"/>, but model i's unique elements are
/// scaled by λᵢ = 1 + r·clamp(ρᵢ, 0, α), ρᵢ = (its changed elements that others change too) / max(its changed elements
/// no other model changes, ε), counted over this tensor.</summary>
internal sealed class RamPlusTensorLocal() : MergeMethod("ramplus_tl", "https://arxiv.org/abs/2601.13572", BaseModelRole.Required, 1, int.MaxValue)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("r", ParameterScope.Global, 0.1, -1e6, 1e6, "Gain of the overlap ratio in λ."),
        ParameterSpec.Number("alpha", ParameterScope.Global, 0.2, 0, 1e6, "Upper clamp of the overlap ratio ρ."),
        ParameterSpec.Number("epsilon", ParameterScope.Global, 1e-5, 0, 1e6, "A task-vector element counts as changed when its magnitude exceeds this."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var p = inputs.Parameters;
        float epsilon = (float)p.Global("epsilon");
        double r = p.Global("r"), alpha = p.Global("alpha");
        var b = inputs.Base.Span;
        int m = inputs.Models.Count;
        var shared = new long[m];
        var unique = new long[m];
        for (int j = 0; j < b.Length; j++)
        {
            int count = 0;
            for (int i = 0; i < m; i++) if (MathF.Abs(inputs.Models[i].Span[j] - b[j]) > epsilon) count++;
            for (int i = 0; i < m; i++)
                if (MathF.Abs(inputs.Models[i].Span[j] - b[j]) > epsilon)
                {
                    if (count == 1) unique[i]++;
                    else shared[i]++;
                }
        }
        var lambda = new double[m];
        for (int i = 0; i < m; i++)
        {
            double rho = shared[i] / Math.Max(unique[i], epsilon);
            lambda[i] = 1 + r * Math.Clamp(rho, 0, alpha);
        }
        Ram.Combine(inputs, destination, epsilon, lambda);
    }
}
