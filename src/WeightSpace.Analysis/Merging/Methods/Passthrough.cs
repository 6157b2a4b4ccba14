using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Passthrough (mergekit): copies each tensor of the single source of its slice, times <c>scale</c>. Layer
/// stacking ("frankenmerges") happens in the plan: each slice's layer_range is renumbered into the output's layers.</summary>
internal sealed class Passthrough() : MergeMethod("passthrough", "https://github.com/arcee-ai/mergekit/blob/main/docs/merge_methods.md#passthrough", BaseModelRole.Ignored, 1, 1), IReadOnlyInputsMergeMethod
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        ParameterSpec.Number("scale", ParameterScope.Global, 1.0, -1e6, 1e6, "Factor applied to the copied tensor."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination) =>
        TensorPrimitives.Multiply(inputs.Models[0].Span, (float)inputs.Parameters.Global("scale"), destination);
}
