using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Passthrough (mergekit): copies each tensor of the single source of its slice, times <c>scale</c>. Layer
/// stacking ("frankenmerges") happens in the plan: each slice's layer_range is renumbered into the output's layers.</summary>
internal sealed class Passthrough : IReadOnlyInputsMergeMethod
{
    public string Name => "passthrough";
    public Uri Paper { get; } = new("https://github.com/arcee-ai/mergekit/blob/main/docs/merge_methods.md#passthrough");
    public BaseModelRole BaseModel => BaseModelRole.Ignored;
    public int MinimumModels => 1;
    public int MaximumModels => 1;
    public IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("scale", ParameterScope.Global, 1.0, -1e6, 1e6, "Factor applied to the copied tensor."),
    ];

    public void Merge(in MergeInputs inputs, Span<float> destination) =>
        TensorPrimitives.Multiply(inputs.Models[0].Span, (float)inputs.Parameters.Global("scale"), destination);
}
