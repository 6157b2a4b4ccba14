namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>mergekit's nearswap (after alchemonaut's QuartetAnemoi merges): per element, w = clamp(t / |θ₀ − θ₁|, 0, 1)
/// (1 where the two are equal), θ = w·θ₁ + (1 − w)·θ₀. Elements closer than t take the other model's value; far ones
/// stay near the base.</summary>
internal sealed class NearSwap() : MergeMethod("nearswap", "https://huggingface.co/alchemonaut/QuartetAnemoi-70B-t0.0001", BaseModelRole.Required, 1, 1)
{
    public override IReadOnlyList<ParameterSpec> Parameters { get; } =
    [
        // mergekit raises on t <= 0; the smallest positive float keeps the check in the parameter's range.
        ParameterSpec.Number("t", ParameterScope.Global, null, double.Epsilon, 1e300, "Sameness threshold (> 0): elements whose difference is below t take the other model's value."),
    ];

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        float t = (float)inputs.Parameters.Global("t");
        var v0 = inputs.Base.Span;
        var v1 = inputs.Models[0].Span;
        for (int i = 0; i < destination.Length; i++)
        {
            float w = t / MathF.Abs(v0[i] - v1[i]);
            // torch.nan_to_num(nan=1, posinf=1, neginf=1) then clamp(0, 1).
            w = float.IsFinite(w) ? Math.Clamp(w, 0f, 1f) : 1f;
            destination[i] = w * v1[i] + (1 - w) * v0[i];
        }
    }
}
