namespace WeightSpace.Analysis.Merging;

/// <summary>Everything a merge method sees for one tensor. Every buffer must hold exactly
/// <see cref="TensorInfo.ElementCount"/> values of <paramref name="tensor"/>.</summary>
/// <param name="tensor">The output tensor (name and shape).</param>
/// <param name="baseValues">θ₀, or empty if the method runs without a base.</param>
/// <param name="models">The merged models' values, in config order (the base excluded when the method requires one). Scratch: methods may overwrite them.</param>
/// <param name="parameters">Parameter values resolved for this tensor.</param>
/// <param name="seed">Seed for this tensor (already mixed with the tensor name).</param>
/// <param name="modelThresholds">The whole-model pre-pass result (<see cref="IWholeModelMergeMethod"/>), or null.</param>
/// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
public readonly struct MergeInputs(TensorInfo tensor, Memory<float> baseValues, IReadOnlyList<Memory<float>> models, MergeParameters parameters,
    ulong seed, float[]? modelThresholds = null)
{
    /// <summary>The output tensor.</summary>
    public TensorInfo Tensor { get; } = Checked(tensor, baseValues, models);

    /// <summary>Number of elements.</summary>
    public int Length => (int)Tensor.ElementCount;

    /// <summary>θ₀ (read-only by convention), or empty.</summary>
    public Memory<float> Base { get; } = baseValues;

    /// <summary>True if a base tensor is present (a zero-element tensor never has one; nothing is computed for it).</summary>
    public bool HasBase => !Base.IsEmpty;

    /// <summary>The merged models' values (scratch).</summary>
    public IReadOnlyList<Memory<float>> Models { get; } = models;

    /// <summary>Parameter values for this tensor.</summary>
    public MergeParameters Parameters { get; } = parameters;

    /// <summary>The per-tensor seed for random methods.</summary>
    public ulong Seed { get; } = seed;

    /// <summary>Model-wide |Δ| thresholds (paper-style TIES trim), one per model; null for per-tensor trimming.</summary>
    public float[]? ModelThresholds { get; } = modelThresholds;

    private static TensorInfo Checked(TensorInfo tensor, Memory<float> baseValues, IReadOnlyList<Memory<float>> models)
    {
        long n = tensor.ElementCount;
        if (!baseValues.IsEmpty && baseValues.Length != n)
            throw new ArgumentException($"Tensor '{tensor.Name}': base has {baseValues.Length} values; {n} expected.", nameof(baseValues));
        for (int i = 0; i < models.Count; i++)
            if (models[i].Length != n)
                throw new ArgumentException($"Tensor '{tensor.Name}': model {i} has {models[i].Length} values; {n} expected.", nameof(models));
        return tensor;
    }
}
