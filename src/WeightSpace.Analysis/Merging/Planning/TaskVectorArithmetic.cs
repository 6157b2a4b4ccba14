using WeightSpace.Analysis.Merging.Config;

namespace WeightSpace.Analysis.Merging.Planning;

/// <summary>Task arithmetic as merge plans, so results stream through <see cref="MergeRunner"/> into any <see cref="ITensorSink"/>:
/// θ = θ₀ + Σᵢ λᵢ(θᵢ − θ₀) (Ilharco et al. 2023, eq. 1; λ = −1 is forgetting by negation).</summary>
public static class TaskVectorArithmetic
{
    /// <summary>θ₀ + Σᵢ λᵢτᵢ over the given (model, λ) terms.</summary>
    /// <exception cref="Compatibility.ModelMismatchException">Tensors are missing or differ in shape (all listed).</exception>
    public static MergePlan Apply(TensorStore baseModel, IReadOnlyList<(TensorStore Model, double Lambda)> terms)
    {
        if (terms.Count == 0) throw new ArgumentException("At least one task vector is needed.", nameof(terms));
        var stores = new Dictionary<string, TensorStore>(StringComparer.Ordinal) { ["base"] = baseModel };
        var builder = new MergeConfigBuilder("task_arithmetic").WithBase("base");
        for (int i = 0; i < terms.Count; i++)
        {
            string key = $"model{i}";
            stores[key] = terms[i].Model;
            builder.AddModel(key, new Dictionary<string, double> { ["weight"] = terms[i].Lambda });
        }
        return MergePlan.Create(builder.Build(), stores);
    }

    /// <summary>θ₀ + Σᵢ τᵢ: every task vector added with λ = 1.</summary>
    public static MergePlan Add(TensorStore baseModel, IReadOnlyList<TensorStore> models) =>
        Apply(baseModel, models.Select(m => (m, 1.0)).ToArray());

    /// <summary>θ₀ − τ: negation, for forgetting what <paramref name="model"/> learned.</summary>
    public static MergePlan Negate(TensorStore baseModel, TensorStore model) => Apply(baseModel, [(model, -1.0)]);

    /// <summary>θ₀ + λτ.</summary>
    public static MergePlan Scale(TensorStore baseModel, TensorStore model, double lambda) => Apply(baseModel, [(model, lambda)]);

    /// <summary>τ = θ − θ₀ itself (a linear merge with weights 1 and −1), e.g. to save a task vector.</summary>
    public static MergePlan Extract(TensorStore baseModel, TensorStore model)
    {
        var config = new MergeConfigBuilder("linear")
            .AddModel("model", new Dictionary<string, double> { ["weight"] = 1 })
            .AddModel("base", new Dictionary<string, double> { ["weight"] = -1 })
            .Set("normalize", 0).Build();
        return MergePlan.Create(config, new Dictionary<string, TensorStore> { ["model"] = model, ["base"] = baseModel });
    }
}
