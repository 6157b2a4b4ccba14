namespace WeightSpace.Analysis.Spectra;

/// <summary>Chooses the weight layout of a checkpoint that does not say it through <c>--layout</c>.</summary>
/// <remarks>
/// 1. Metadata: a safetensors <c>__metadata__</c> (or index <c>metadata</c>) entry <c>layout</c> that starts with
///    <c>tf</c>, <c>keras</c> or <c>tensorflow</c>, or an entry <c>format</c> that names tfjs, keras or tensorflow,
///    means TensorFlow layout (the shared face model records <c>"layout": "tfjs: conv filters [kh,kw,in,out] …"</c>).
///    A <c>layout</c> entry that starts with <c>torch</c>/<c>pytorch</c> means torch.
/// 2. Otherwise shapes: a 4-D tensor "looks TF" when its two leading dims are equal and ≤ 7 (a kernel) and its two
///    trailing dims are not; it "looks torch" in the mirror case. TF is chosen when at least one 4-D tensor looks TF
///    and none looks torch. Dense-only checkpoints cannot be told apart and stay torch.
/// 3. Default: torch (PyTorch and ONNX both store [out, in, kh, kw]).
/// </remarks>
public static class LayoutDetection
{
    /// <summary>The layout of <paramref name="store"/>'s weights and why it was chosen (for the report's layout note).</summary>
    public static (WeightLayout Layout, string Reason) Detect(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var (key, value) in store.Metadata)
        {
            string v = value.Trim().ToLowerInvariant();
            if (key.Equals("layout", StringComparison.OrdinalIgnoreCase))
            {
                if (v.StartsWith("tf", StringComparison.Ordinal) || v.StartsWith("keras", StringComparison.Ordinal) || v.StartsWith("tensorflow", StringComparison.Ordinal))
                    return (WeightLayout.TensorFlow, $"file metadata layout = \"{Shorten(value)}\"");
                if (v.StartsWith("torch", StringComparison.Ordinal) || v.StartsWith("pytorch", StringComparison.Ordinal))
                    return (WeightLayout.Torch, $"file metadata layout = \"{Shorten(value)}\"");
            }
            if (key.Equals("format", StringComparison.OrdinalIgnoreCase) && (v.Contains("tfjs", StringComparison.Ordinal) || v.Contains("keras", StringComparison.Ordinal) || v.Contains("tensorflow", StringComparison.Ordinal)))
                return (WeightLayout.TensorFlow, $"file metadata format = \"{Shorten(value)}\"");
        }
        int tf = 0, torch = 0;
        foreach (var t in store.Tensors)
        {
            if (t.Shape.Rank != 4) continue;
            bool lead = t.Shape[0] == t.Shape[1] && t.Shape[0] <= 7, trail = t.Shape[2] == t.Shape[3] && t.Shape[2] <= 7;
            if (lead && !trail) tf++;
            if (trail && !lead) torch++;
        }
        if (tf > 0 && torch == 0)
            return (WeightLayout.TensorFlow, $"heuristic: all {tf} unambiguous 4-D tensors have a small square leading [kh,kw]");
        if (torch > 0) return (WeightLayout.Torch, $"heuristic: {torch} 4-D tensors have a small square trailing [kh,kw]");
        return (WeightLayout.Torch, "default");
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
