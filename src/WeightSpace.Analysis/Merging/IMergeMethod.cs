namespace WeightSpace.Analysis.Merging;

/// <summary>A merge method: combines one tensor of several models into one output tensor.</summary>
/// <remarks>Implementations are stateless and called from several worker threads at once. Register them in
/// <see cref="Methods.MergeMethods.All"/>.</remarks>
public interface IMergeMethod
{
    /// <summary>The YAML/CLI name, mergekit's spelling (<c>dare_ties</c>).</summary>
    string Name { get; }

    /// <summary>The paper (or reference) that defines the method.</summary>
    Uri Paper { get; }

    /// <summary>How the method uses <c>base_model</c>.</summary>
    BaseModelRole BaseModel { get; }

    /// <summary>Fewest merged models (not counting a required base).</summary>
    int MinimumModels { get; }

    /// <summary>Most merged models (not counting a required base); <see cref="int.MaxValue"/> if unbounded.</summary>
    int MaximumModels { get; }

    /// <summary>The parameters the method accepts.</summary>
    IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>Merges one tensor into <paramref name="destination"/> (as many elements as the tensor has).</summary>
    /// <remarks>The model buffers of <paramref name="inputs"/> are scratch the method may overwrite; the base is read-only by convention.</remarks>
    void Merge(in MergeInputs inputs, Span<float> destination);
}
