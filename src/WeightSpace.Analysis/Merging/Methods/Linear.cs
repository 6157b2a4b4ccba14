using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Weighted average (model soups, Wortsman et al. 2022, §3 "uniform/greedy soup" generalised to weights):
/// θ = Σᵢ wᵢθᵢ / Σᵢ wᵢ, or Σᵢ wᵢθᵢ without normalize.</summary>
internal sealed class Linear : IMergeMethod, IParameterCheck
{
    public string Name => "linear";
    public Uri Paper { get; } = new("https://arxiv.org/abs/2203.05482");
    public BaseModelRole BaseModel => BaseModelRole.Ignored;
    public int MinimumModels => 1;
    public int MaximumModels => int.MaxValue;
    public IReadOnlyList<ParameterSpec> Parameters { get; } =
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

    public void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var p = inputs.Parameters;
        double sum = 0;
        for (int i = 0; i < inputs.Models.Count; i++) sum += p.PerModel("weight", i);
        double scale = p.Flag("normalize") ? 1.0 / sum : 1.0;
        destination.Clear();
        for (int i = 0; i < inputs.Models.Count; i++)
            TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, (float)(p.PerModel("weight", i) * scale), destination, destination);
    }
}
