using System.Numerics.Tensors;
using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Weighted average (model soups, Wortsman et al. 2022, §3 "uniform/greedy soup" generalised to weights):
/// θ = Σᵢ wᵢθᵢ / Σᵢ wᵢ, or Σᵢ wᵢθᵢ without normalize.</summary>
internal sealed class Linear() : MergeMethod("linear", "https://arxiv.org/abs/2203.05482", BaseModelRole.Ignored, 1, int.MaxValue), IStreamingMergeMethod, IParameterCheck
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Weight,
        ParameterSpec.Flag("normalize", true, "Divide by the sum of the weights."),
    ];

    public string? Check(MergeParameters p, Shape shape)
    {
        double sum = 0;
        for (int i = 0; i < p.ModelCount; i++) sum += p.PerModel("weight", i);
        return p.Flag("normalize") && sum == 0 ? "weights sum to 0 and normalize is true" : null;
    }

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var coefficients = Coefficients(inputs.Parameters, inputs.Models.Count);
        destination.Clear();
        for (int i = 0; i < inputs.Models.Count; i++)
            TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, coefficients[i], destination, destination);
    }

    public bool SupportsReadOnlyInputs(MergeParameters p) => true;

    /// <summary>The same sum from +0, without a base: the kernel's plain weighted sum with θ₀ = 0 and nothing trimmed.</summary>
    public StreamingTaskArithmetic CreateKernel(TensorInfo tensor, MergeParameters p, int models, float[]? modelThresholds, out TrimRule[] rules)
    {
        rules = Enumerable.Repeat(TrimRule.All, models).ToArray();
        return new StreamingTaskArithmetic { Combination = new TaskVectorCombination(false, false, false, 1f, Coefficients(p, models)) };
    }

    // wᵢ / Σw (normalize) or wᵢ, rounded to float32 once.
    private static float[] Coefficients(MergeParameters p, int models)
    {
        double sum = 0;
        for (int i = 0; i < models; i++) sum += p.PerModel("weight", i);
        double scale = p.Flag("normalize") ? 1.0 / sum : 1.0;
        var c = new float[models];
        for (int i = 0; i < models; i++) c[i] = (float)(p.PerModel("weight", i) * scale);
        return c;
    }
}
