namespace WeightSpace.Analysis.Quantization;

/// <summary>The error of one quantised tensor against its reference.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="ReferenceDType">Reference dtype (F32 usually).</param>
/// <param name="QuantizedDType">Stored dtype of the quantised tensor (Q4_K, …).</param>
/// <param name="ElementCount">Elements compared.</param>
/// <param name="RelativeL2">‖q − r‖₂ / ‖r‖₂ (0 when equal; +∞ when r = 0 ≠ q).</param>
/// <param name="SnrDb">Signal-to-noise ratio 10·log10(Σr² / Σ(q − r)²) in dB (+∞ when equal).</param>
/// <param name="MaxAbsError">max |q − r|.</param>
/// <param name="Layer">Layer index parsed from the name, or null.</param>
/// <param name="Role">Role within the layer (<c>self_attn.q_proj</c>, …), or the name for non-layer tensors.</param>
public sealed record TensorQuantizationError(string Name, DType ReferenceDType, DType QuantizedDType, long ElementCount,
    double RelativeL2, double SnrDb, double MaxAbsError, int? Layer, string Role);

/// <summary>A group's mean and maximum relative L2 error.</summary>
public sealed record QuantizationErrorGroup(string Group, int TensorCount, double MeanRelativeL2, double MaxRelativeL2, double MeanSnrDb);

/// <summary>The quantisation error of every tensor of a quantised model (a GGUF Q4_K_M, …) against a reference
/// (its F32 or BF16 source), with means by layer and by role. All sums are in float64 over the float32 values, as
/// gguf-py's reference numbers are (shared gguf/scripts/expect.py).</summary>
/// <param name="ReferencePath">The reference model.</param>
/// <param name="QuantizedPath">The quantised model.</param>
/// <param name="Tensors">Per tensor, in the reference's order.</param>
public sealed partial record QuantizationErrorReport(string ReferencePath, string QuantizedPath, IReadOnlyList<TensorQuantizationError> Tensors)
{
    /// <summary>Tensors whose stored dtype differs from the reference's (the ones quantisation touched): the set the
    /// shared README's mean/max columns average over.</summary>
    public IReadOnlyList<TensorQuantizationError> Quantized => [.. Tensors.Where(t => t.QuantizedDType != t.ReferenceDType)];

    /// <summary>Mean and max over <see cref="Quantized"/>.</summary>
    public QuantizationErrorGroup Summary => Group("quantised tensors", Quantized);

    /// <summary>Means by role (over layers), quantised tensors only.</summary>
    public IReadOnlyList<QuantizationErrorGroup> ByRole => [.. Quantized.GroupBy(t => t.Role).Select(g => Group(g.Key, [.. g]))];

    /// <summary>Means by layer, quantised tensors only.</summary>
    public IReadOnlyList<QuantizationErrorGroup> ByLayer =>
        [.. Quantized.Where(t => t.Layer is not null).GroupBy(t => t.Layer!.Value).OrderBy(g => g.Key).Select(g => Group($"layer {g.Key}", [.. g]))];

    /// <summary>True when <paramref name="quantized"/> holds a block-quantised tensor whose counterpart in
    /// <paramref name="reference"/> is not: comparing them is a quantisation-error question.</summary>
    public static bool Applies(TensorStore reference, TensorStore quantized) =>
        quantized.Tensors.Any(t => t.DType.IsBlockQuantized() && reference.TryGetInfo(t.Name, out var r) && !r.DType.IsBlockQuantized());

    /// <summary>Compares every tensor the two models share (same name and shape, both floating-point), reading one
    /// tensor pair at a time.</summary>
    /// <exception cref="WeightSpaceException">The models share no tensor.</exception>
    public static QuantizationErrorReport Compute(TensorStore reference, TensorStore quantized, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(quantized);
        var results = new List<TensorQuantizationError>();
        foreach (var r in Compared(reference, quantized))
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(ComputeTensor(reference, quantized, r));
        }
        return new QuantizationErrorReport(reference.Path, quantized.Path, results);
    }

    /// <summary>The tensors <see cref="Compute"/> compares, in the reference's order, from the headers alone.</summary>
    /// <exception cref="WeightSpaceException">The models share no tensor.</exception>
    internal static IReadOnlyList<TensorInfo> Compared(TensorStore reference, TensorStore quantized)
    {
        var list = reference.Tensors.Where(r => quantized.TryGetInfo(r.Name, out var q) && q.Shape == r.Shape && r.DType.IsFloatingPoint() && q.DType.IsFloatingPoint()).ToList();
        if (list.Count == 0)
            throw new WeightSpaceException($"{quantized.Path}: shares no floating-point tensor (same name and shape) with {reference.Path}");
        return list;
    }

    /// <summary>The error of one tensor pair.</summary>
    internal static TensorQuantizationError ComputeTensor(TensorStore reference, TensorStore quantized, TensorInfo r)
    {
        var q = quantized.GetInfo(r.Name);
        float[] a = reference.ReadSingle(r.Name), b = quantized.ReadSingle(r.Name);
        var (signal, noise, max) = Errors(a, b);
        var m = LayerName().Match(r.Name);
        return new TensorQuantizationError(r.Name, r.DType, q.DType, r.ElementCount,
            noise == 0 ? 0 : Math.Sqrt(noise) / Math.Sqrt(signal),
            noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise),
            max, m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null,
            m.Success ? m.Groups[2].Value : r.Name);
    }

    // Σr², Σ(q − r)², max|q − r| in float64; the differences of two float32 values are exact in float64.
    private static (double Signal, double Noise, double Max) Errors(ReadOnlySpan<float> r, ReadOnlySpan<float> q)
    {
        double signal = 0, noise = 0, max = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double x = r[i], d = (double)q[i] - x;
            signal += x * x;
            noise += d * d;
            max = Math.Max(max, Math.Abs(d));
        }
        return (signal, noise, max);
    }

    private static QuantizationErrorGroup Group(string name, IReadOnlyList<TensorQuantizationError> tensors) => tensors.Count == 0
        ? new(name, 0, double.NaN, double.NaN, double.NaN)
        : new(name, tensors.Count, tensors.Average(t => t.RelativeL2), tensors.Max(t => t.RelativeL2), tensors.Average(t => t.SnrDb));

    [GeneratedRegex(@"^(?:model\.layers|blk)\.(\d+)\.(.+)\.(?:weight|bias)$")]
    private static partial Regex LayerName();
}
