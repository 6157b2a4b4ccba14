namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Base of the built-in methods: the descriptive half of <see cref="IMergeMethod"/> (name, reference, how the
/// base is used, how many models) stated once in the constructor, so a method file is its parameters and its maths.</summary>
/// <param name="name">mergekit's spelling of the method (<see cref="IMergeMethod.Name"/>).</param>
/// <param name="paper">The paper or reference that defines it.</param>
/// <param name="baseModel">How it uses <c>base_model</c>.</param>
/// <param name="minimumModels">Fewest merged models besides a required base.</param>
/// <param name="maximumModels">Most merged models besides a required base (<see cref="int.MaxValue"/>: unbounded).</param>
internal abstract class MergeMethod(string name, string paper, BaseModelRole baseModel, int minimumModels, int maximumModels) : IMergeMethod
{
    public string Name { get; } = name;
    public Uri Paper { get; } = new(paper);
    public BaseModelRole BaseModel { get; } = baseModel;
    public int MinimumModels { get; } = minimumModels;
    public int MaximumModels { get; } = maximumModels;
    public abstract IReadOnlyList<ParameterSpec> Parameters { get; }
    public abstract void Merge(in MergeInputs inputs, Span<float> destination);
}
