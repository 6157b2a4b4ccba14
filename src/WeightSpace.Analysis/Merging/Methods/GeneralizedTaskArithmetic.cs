using System.Numerics;
using System.Numerics.Tensors;
using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>The family mergekit calls generalized task arithmetic: τᵢ = θᵢ − θ₀, optional sparsification of each τᵢ,
/// optional TIES sign consensus, weighted sum, optional normalisation by the (agreeing) weights, scale by λ, add to θ₀.</summary>
internal abstract class GeneralizedTaskArithmetic : MergeMethod, IStreamingMergeMethod, IParameterCheck, IWholeModelMergeMethod
{
    private const int ParallelThreshold = 1 << 20;
    private readonly Sparsification _sparsification;
    private readonly bool _consensus;

    protected GeneralizedTaskArithmetic(string name, string paper, Sparsification sparsification, bool consensus,
        bool defaultNormalize, bool defaultRescale, string? semanticsDescription)
        : base(name, paper, BaseModelRole.Required, 1, int.MaxValue)
    {
        _sparsification = sparsification;
        _consensus = consensus;
        var specs = new List<ParameterSpec> { ParameterSpec.Weight };
        if (sparsification != Sparsification.None)
            specs.Add(ParameterSpec.Number("density", ParameterScope.PerModel, 1.0, 0, 1, "Fraction of each task vector's entries kept."));
        if (sparsification == Sparsification.MagnitudeOutliers)
            specs.Add(ParameterSpec.Number("gamma", ParameterScope.PerModel, 0.01, 0, 1, "Fraction of largest-magnitude entries dropped as outliers."));
        if (sparsification == Sparsification.DellaMagprune)
            specs.Add(ParameterSpec.Number("epsilon", ParameterScope.PerModel, 0.15, 0, 0.5, "Half-width of the keep-probability range around density."));
        specs.Add(ParameterSpec.Flag("normalize", defaultNormalize, "Divide the combined task vector by the sum of the (agreeing) weights."));
        specs.Add(ParameterSpec.Flag("rescale", defaultRescale, "Rescale kept entries after sparsification (see semantics)."));
        specs.Add(ParameterSpec.Lambda);
        specs.Add(ParameterSpec.Int8Mask);
        if (semanticsDescription is not null) specs.Add(ParameterSpec.Semantics(semanticsDescription));
        Parameters = specs;
    }

    public override IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>True when, under paper semantics, TIES trims against a threshold over the whole model.</summary>
    internal bool TrimsWholeModel(MergeParameters p) => _sparsification == Sparsification.Magnitude && p.PaperSemantics;

    // TIES paper semantics trim against one |τ| threshold per model over all merged tensors: two histogram passes
    // (MagnitudeSelection), each holding one tensor of the base and of every model at a time.
    public float[]? PrepareWholeModel(IReadOnlyList<PlannedTensor> tensors, CancellationToken ct)
    {
        var merged = tensors.Where(t => !t.IsCopy && t.Output.ElementCount > 0).ToList();
        if (merged.Count == 0 || !TrimsWholeModel(merged[0].Parameters)) return null;
        int models = merged[0].Models.Count;
        var density = new double[models];
        for (int i = 0; i < models; i++)
        {
            density[i] = merged[0].Parameters.PerModel("density", i);
            if (merged.Any(t => t.Parameters.PerModel("density", i) != density[i]))
                throw new MergeConfigException("density", null, $"semantics: paper trims the whole model, so model '{merged[0].Models[i].Model}' needs one density for every tensor");
        }
        long total = merged.Sum(t => t.Output.ElementCount);
        var selections = Enumerable.Range(0, models).Select(_ => new MagnitudeSelection()).ToArray();
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var t in merged)
            {
                ct.ThrowIfCancellationRequested();
                var theta0 = t.Base!.Store.ReadSingle(t.Base.StoredName);
                for (int i = 0; i < models; i++)
                {
                    if (density[i] >= 1) continue;
                    var tau = t.Models[i].Store.ReadSingle(t.Models[i].StoredName);
                    TensorPrimitives.Subtract(tau, theta0, tau);
                    if (pass == 0) selections[i].AddHigh(tau); else selections[i].AddLow(tau);
                }
            }
            if (pass == 0)
                for (int i = 0; i < models; i++)
                    if (density[i] < 1) selections[i].ChooseBin(Math.Max(1, (long)(density[i] * total)));
        }
        var thresholds = Enumerable.Range(0, models).Select(i => density[i] >= 1 ? 0f : selections[i].Finish().Threshold).ToArray();
        foreach (var s in selections) s.Dispose();
        return thresholds;
    }

    public string? Check(MergeParameters p, Shape shape)
    {
        if (_sparsification != Sparsification.DellaMagprune) return null;
        for (int i = 0; i < p.ModelCount; i++)
        {
            double d = p.PerModel("density", i), e = p.PerModel("epsilon", i);
            if (d < 1 && d > 0 && (d + e >= 1 || d - e <= 0))
                return $"density ± epsilon must lie in (0, 1); model {i} has density {d}, epsilon {e}";
        }
        return null;
    }

    public override void Merge(in MergeInputs inputs, Span<float> destination)
    {
        var p = inputs.Parameters;
        var baseValues = inputs.Base.Span;
        int m = inputs.Models.Count, n = inputs.Length;
        bool paper = p.PaperSemantics, rescale = p.Flag("rescale");
        // Each model's τ and its sparsification are independent (per-model seeds), so large tensors use every core: under
        // the memory bound a large tensor runs alone, and a serial loop would leave the other cores idle.
        var captured = inputs;
        void Prepare(int i)
        {
            var tau = captured.Models[i].Span;
            TensorPrimitives.Subtract(tau, captured.Base.Span, tau);
            Sparsify(tau, i, captured, paper, rescale);
        }
        if (m > 1 && n >= ParallelThreshold) Parallel.For(0, m, Prepare);
        else for (int i = 0; i < m; i++) Prepare(i);
        var (weights, lambda, normalize) = Coefficients(p);

        if (!_consensus)
        {
            baseValues.CopyTo(destination);
            for (int i = 0; i < m; i++) TensorPrimitives.MultiplyAdd(inputs.Models[i].Span, weights[i], destination, destination);
            return;
        }

        // TIES (Yadav et al. 2023, §3 steps 2–3): elect a sign per entry, then average the agreeing entries ("disjoint mean").
        // mergekit votes on the weighted deltas and breaks a zero sum towards +; the paper votes on the trimmed τ
        // (weights applied after) and a zero sum elects no sign, so the entry stays at θ₀.
        var combination = new TaskVectorCombination(true, paper, normalize, lambda, weights);
        var handles = new System.Buffers.MemoryHandle[m];
        try
        {
            for (int i = 0; i < m; i++) handles[i] = inputs.Models[i].Pin();
            if (n < ParallelThreshold) Consensus(handles, combination, baseValues, destination, 0);
            else
            {
                // Element-wise, so chunks are independent and the result does not depend on the split.
                unsafe
                {
                    fixed (float* basePtr = baseValues)
                    fixed (float* dst = destination)
                    {
                        nint b = (nint)basePtr, d = (nint)dst;
                        int chunks = (n + ParallelThreshold - 1) / ParallelThreshold;
                        Parallel.For(0, chunks, c =>
                        {
                            int start = c * ParallelThreshold, length = Math.Min(ParallelThreshold, n - start);
                            Consensus(handles, combination, new ReadOnlySpan<float>((float*)b + start, length), new Span<float>((float*)d + start, length), start);
                        });
                    }
                }
            }
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
    }

    /// <summary>The per-model factors: TIES weights (λ and normalisation applied in the election), else each weight × scale.</summary>
    private (float[] Weights, float Lambda, bool Normalize) Coefficients(MergeParameters p)
    {
        int m = p.ModelCount;
        var weights = new float[m];
        for (int i = 0; i < m; i++) weights[i] = (float)p.PerModel("weight", i);
        float lambda = (float)p.Global("lambda");
        bool normalize = p.Flag("normalize");
        if (_consensus) return (weights, lambda, normalize);
        double divisor = weights.Sum(w => (double)w);
        if (Math.Abs(divisor) < 1e-8) divisor = 1;
        float scale = normalize ? (float)(lambda / divisor) : lambda;
        for (int i = 0; i < m; i++) weights[i] *= scale;
        return (weights, lambda, normalize);
    }

    /// <summary>True for no sparsification, or the magnitude trim without rescaling (ties, task_arithmetic); the random
    /// and L1-rescaled trims need the whole τ first.</summary>
    public bool SupportsReadOnlyInputs(MergeParameters p) =>
        _sparsification == Sparsification.None || (_sparsification == Sparsification.Magnitude && !p.Flag("rescale"));

    /// <summary>τᵢ = θᵢ − θ₀ trimmed as <see cref="Merge"/> trims it (per-tensor top-k, or the paper's model-wide
    /// thresholds), combined by <see cref="TaskVectorCombination"/>.</summary>
    public StreamingTaskArithmetic CreateKernel(TensorInfo tensor, MergeParameters p, int m, float[]? modelThresholds, out TrimRule[] rules)
    {
        if (!SupportsReadOnlyInputs(p)) throw new InvalidOperationException($"{Name}: these parameters need the in-place path.");
        int n = checked((int)tensor.ElementCount);
        bool paper = p.PaperSemantics;
        rules = new TrimRule[m];
        for (int i = 0; i < m; i++)
        {
            double density = _sparsification == Sparsification.None ? 1 : p.PerModel("density", i);
            long k = (long)(density * n);
            rules[i] = density >= 1 ? TrimRule.All
                : paper && modelThresholds is not null ? new TrimRule(TrimKind.AtLeast, Key: MagnitudeSelection.Key(modelThresholds[i]))
                : k >= n ? TrimRule.All
                : k <= 0 ? new TrimRule(TrimKind.DropAll)
                : new TrimRule(TrimKind.TopK, k);
        }
        var (weights, lambda, normalize) = Coefficients(p);
        return new StreamingTaskArithmetic { Combination = new TaskVectorCombination(_consensus, paper, normalize, lambda, weights) };
    }

    // Pointers rather than Memory<T>.Span per element; the element-wise formula is TaskVectorCombination's.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Consensus(System.Buffers.MemoryHandle[] handles, TaskVectorCombination combination, ReadOnlySpan<float> baseValues,
        Span<float> destination, int offset)
    {
        int m = handles.Length, n = destination.Length, width = Vector<float>.Count;
        var taus = stackalloc float*[m];
        for (int i = 0; i < m; i++) taus[i] = (float*)handles[i].Pointer + offset;
        var kept = stackalloc Vector<float>[m];
        var weights = stackalloc Vector<float>[m];
        combination.Broadcast(weights);
        var scalar = stackalloc float[m];
        int j = 0;
        fixed (float* basePtr = baseValues)
        fixed (float* dst = destination)
        {
            for (; j <= n - width; j += width)
            {
                for (int i = 0; i < m; i++) kept[i] = Vector.Load(taus[i] + j);
                combination.Apply(Vector.Load(basePtr + j), kept, weights, m).Store(dst + j);
            }
            for (; j < n; j++)
            {
                for (int i = 0; i < m; i++) scalar[i] = taus[i][j];
                dst[j] = combination.Apply(basePtr[j], scalar, m);
            }
        }
    }

    private void Sparsify(Span<float> tau, int model, in MergeInputs inputs, bool paper, bool rescale)
    {
        var p = inputs.Parameters;
        switch (_sparsification)
        {
            case Sparsification.None:
                break;
            case Sparsification.Magnitude:
                if (paper && inputs.ModelThresholds is { } thresholds)
                {
                    if (p.PerModel("density", model) < 1) Sparsifier.AboveThreshold(tau, thresholds[model], rescale);
                }
                else Sparsifier.Magnitude(tau, p.PerModel("density", model), rescale);
                break;
            case Sparsification.Random:
                Sparsifier.Random(tau, p.PerModel("density", model), rescale, paper, DeterministicRandom.For(inputs.Seed, model));
                break;
            case Sparsification.MagnitudeOutliers:
                Sparsifier.MagnitudeOutliers(tau, p.PerModel("density", model), p.PerModel("gamma", model), rescale, paper);
                break;
            case Sparsification.DellaMagprune:
                Sparsifier.DellaMagprune(tau, inputs.Tensor.Shape, p.PerModel("density", model), p.PerModel("epsilon", model), rescale, paper,
                    DeterministicRandom.For(inputs.Seed, model));
                break;
        }
    }
}
