namespace WeightSpace.Analysis.Merging;

/// <summary>Everything a merge method sees for one tensor.</summary>
public readonly struct MergeInputs
{
    /// <summary>Creates inputs; every buffer must hold exactly <see cref="TensorInfo.ElementCount"/> values of <paramref name="tensor"/>.</summary>
    /// <param name="tensor">The output tensor (name and shape).</param>
    /// <param name="baseValues">θ₀, or empty if the method runs without a base.</param>
    /// <param name="models">The merged models' values, in config order (the base excluded when the method requires one). Scratch: methods may overwrite them.</param>
    /// <param name="parameters">Parameter values resolved for this tensor.</param>
    /// <param name="seed">Seed for this tensor (already mixed with the tensor name).</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    public MergeInputs(TensorInfo tensor, Memory<float> baseValues, IReadOnlyList<Memory<float>> models, MergeParameters parameters, ulong seed)
    {
        long n = tensor.ElementCount;
        if (!baseValues.IsEmpty && baseValues.Length != n)
            throw new ArgumentException($"Tensor '{tensor.Name}': base has {baseValues.Length} values; {n} expected.", nameof(baseValues));
        for (int i = 0; i < models.Count; i++)
            if (models[i].Length != n)
                throw new ArgumentException($"Tensor '{tensor.Name}': model {i} has {models[i].Length} values; {n} expected.", nameof(models));
        Tensor = tensor;
        Base = baseValues;
        Models = models;
        Parameters = parameters;
        Seed = seed;
        ModelThresholds = null;
    }

    internal MergeInputs(TensorInfo tensor, Memory<float> baseValues, IReadOnlyList<Memory<float>> models, MergeParameters parameters, ulong seed, float[]? modelThresholds)
        : this(tensor, baseValues, models, parameters, seed) => ModelThresholds = modelThresholds;

    /// <summary>The output tensor.</summary>
    public TensorInfo Tensor { get; }

    /// <summary>Number of elements.</summary>
    public int Length => (int)Tensor.ElementCount;

    /// <summary>θ₀ (read-only by convention), or empty.</summary>
    public Memory<float> Base { get; }

    /// <summary>True if a base tensor is present (a zero-element tensor never has one; nothing is computed for it).</summary>
    public bool HasBase => !Base.IsEmpty;

    /// <summary>The merged models' values (scratch).</summary>
    public IReadOnlyList<Memory<float>> Models { get; }

    /// <summary>Parameter values for this tensor.</summary>
    public MergeParameters Parameters { get; }

    /// <summary>The per-tensor seed for random methods.</summary>
    public ulong Seed { get; }

    /// <summary>Model-wide |Δ| thresholds (paper-style TIES trim), one per model; null for per-tensor trimming.</summary>
    public float[]? ModelThresholds { get; }
}
