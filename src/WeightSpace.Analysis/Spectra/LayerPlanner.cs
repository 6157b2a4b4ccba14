using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Spectra;

/// <summary>Decides, from a tensor's name, dtype and shape alone, whether and how it is analysed.</summary>
internal sealed class LayerPlanner
{
    private readonly SpectrumOptions _options;
    private readonly Regex? _filter;
    private readonly Regex _embedding;
    private readonly Regex _head;

    public LayerPlanner(SpectrumOptions options)
    {
        _options = options;
        (_filter, _embedding, _head) = options.Validate();
    }

    public SpectrumOptions Options => _options;

    /// <summary>The plan for <paramref name="info"/>, or the skipped entry that reports why there is none.</summary>
    public (LayerPlan? Plan, LayerSpectrum? Skipped) Plan(TensorInfo info, bool applyNameRules = true)
    {
        var shape = info.Shape.ToArray();
        if (applyNameRules && _filter is not null && !_filter.IsMatch(info.Name))
            return Skip(info, KindOf(shape), $"name does not match the filter '{_options.Filter}'");
        if (!info.DType.IsFloatingPoint())
            return Skip(info, KindOf(shape), $"{info.DType.ToShortName()} tensor: only floating-point weights are analysed");
        switch (shape.Length)
        {
            case 0: return Skip(info, "scalar", "scalar");
            case 1: return Skip(info, "vector", "1-D tensor (bias, norm scale or similar) has no matrix spectrum");
            case > 4: return Skip(info, "tensor", $"rank-{shape.Length} tensors (e.g. conv3d) are not analysed");
        }
        if (applyNameRules && !_options.IncludeEmbeddings && shape.Length == 2)
        {
            if (_embedding.IsMatch(info.Name))
                return Skip(info, "embedding", $"embedding (name matches '{_options.EmbeddingPattern}'): skipped as WeightWatcher does; --include-embeddings analyses it");
            if (_options.WeightWatcherCompat && _head.IsMatch(info.Name))
                return Skip(info, "dense", $"output head (name matches '{_options.HeadPattern}'): skipped as WeightWatcher does; --include-embeddings analyses it");
        }

        bool tf = _options.Layout == WeightLayout.TensorFlow;
        // Canonical order is [out, in, kh, kw]; ToCanonical maps it from the stored order.
        var plan = shape.Length switch
        {
            2 => tf ? new LayerPlan("dense", shape[1], shape[0], 1, 1, [1, 0])
                    : new LayerPlan("dense", shape[0], shape[1], 1, 1, null),
            3 => tf ? new LayerPlan("conv1d", shape[2], shape[1], shape[0], 1, [2, 1, 0])
                    : new LayerPlan("conv1d", shape[0], shape[1], shape[2], 1, null),
            _ => tf ? new LayerPlan("conv2d", shape[3], shape[2], shape[0], shape[1], [3, 2, 0, 1])
                    : new LayerPlan("conv2d", shape[0], shape[1], shape[2], shape[3], null),
        };
        long cols = LayerMatrix.ColumnsOf(plan.Kind, plan.In, plan.KernelHeight, plan.KernelWidth, _options);
        long n = Math.Max(plan.Out, cols), m = Math.Min(plan.Out, cols);
        if (m < _options.MinDimension)
            return Skip(info, plan.Kind, $"smaller matrix side {m} is below SpectrumOptions.MinDimension = {_options.MinDimension}");
        if (n > _options.MaxDimension)
            return Skip(info, plan.Kind, $"larger matrix side {n} is above SpectrumOptions.MaxDimension = {_options.MaxDimension}");
        if (info.ElementCount > _options.MaxElementCount || info.ElementCount > Array.MaxLength)
            return Skip(info, plan.Kind, $"{info.ElementCount} elements exceed SpectrumOptions.MaxElementCount = {_options.MaxElementCount}");
        return (plan, null);
    }

    /// <summary>Reads the tensor and checks every value is finite.</summary>
    /// <exception cref="WeightSpaceException">A value is NaN or infinite.</exception>
    public LayerMatrix Load(TensorStore store, TensorInfo info, LayerPlan plan)
    {
        using var buffer = store.Read(info.Name);
        float[]? single = null;
        double[]? values = null;
        if (_options.Precision == SpectrumPrecision.Float32) single = buffer.ToSingleArray();
        else values = buffer.ToDoubleArray();
        return Create(info.Name, info.Shape.ToArray(), plan, single, values);
    }

    public LayerMatrix Create(string name, long[] shape, LayerPlan plan, float[]? single, double[]? values)
    {
        long bad = single is not null ? FirstNonFinite(single) : FirstNonFinite(values!);
        if (bad >= 0)
            throw new WeightSpaceException($"tensor '{name}': element {bad} is NaN or infinite; the spectrum is undefined");
        return new LayerMatrix(name, plan.Kind, shape, plan.Out, plan.In, plan.KernelHeight, plan.KernelWidth,
            plan.ToCanonical, single, values, _options);
    }

    /// <summary>‖W‖_F in double, accumulated over float64 blocks so float32 input loses nothing.</summary>
    public static double FrobeniusNorm(LayerMatrix matrix)
    {
        if (matrix.Double is not null) return Math.Sqrt(TensorPrimitives.SumOfSquares<double>(matrix.Double));
        Span<double> block = stackalloc double[512];
        double sum = 0;
        var data = matrix.Single.AsSpan();
        for (int i = 0; i < data.Length; i += block.Length)
        {
            int len = Math.Min(block.Length, data.Length - i);
            TensorPrimitives.ConvertTruncating<float, double>(data.Slice(i, len), block[..len]);
            sum += TensorPrimitives.SumOfSquares<double>(block[..len]);
        }
        return Math.Sqrt(sum);
    }

    private static long FirstNonFinite<T>(T[] data) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        // Sum of |x| is finite for finite input short of overflow, so the exact scan runs only when needed.
        T total = TensorPrimitives.SumOfMagnitudes<T>(data);
        if (T.IsFinite(total)) return -1;
        for (long i = 0; i < data.LongLength; i++) if (!T.IsFinite(data[i])) return i;
        return -1;
    }

    private static string KindOf(long[] shape) => shape.Length switch
    {
        0 => "scalar", 1 => "vector", 2 => "dense", 3 => "conv1d", 4 => "conv2d", _ => "tensor",
    };

    private static (LayerPlan?, LayerSpectrum?) Skip(TensorInfo info, string kind, string reason) =>
        (null, new LayerSpectrum { Name = info.Name, Shape = info.Shape.ToArray(), Kind = kind, Status = LayerStatus.Skipped, Reason = reason });
}

/// <summary>How a tensor maps to matrices: channels and kernel size in canonical order.</summary>
internal sealed record LayerPlan(string Kind, long Out, long In, long KernelHeight, long KernelWidth, int[]? ToCanonical);
