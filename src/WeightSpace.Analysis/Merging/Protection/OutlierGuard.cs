using WeightSpace.Analysis.Merging.Planning;
using WeightSpace.Analysis.Outliers;

namespace WeightSpace.Analysis.Merging.Protection;

/// <summary>Watches the outlier weights (super-weight candidates) of a trimming merge's inputs: reports each one whose merged
/// value the trim (TIES/DARE/breadcrumbs/DELLA density, breadcrumbs' outlier drop, SCE's variance selection) moved away from
/// the untrimmed merge, and optionally writes the untrimmed value there instead.</summary>
/// <remarks>
/// <see cref="Prepare"/> scans the watched matrices of every input once (<see cref="OutlierScan"/>: the top weights by
/// |w| per matrix) and computes, per coordinate, the method's value with the trim switched off: the same method on a
/// one-element tensor with density 1, gamma 0 and epsilon 0. This is exact because without trimming these methods are
/// element-wise (sign election and the disjoint mean work per entry). SCE is not: its weights ηᵢ are means over the whole
/// tensor, so its reference is the whole tensor merged with select_topk 1 (once per watched tensor, holding its inputs as
/// the merge itself does). <see cref="Wrap"/> then reads the merged value at
/// those few coordinates as the sink receives each block, after the kernel computed it, so the merge loops are unchanged.
/// </remarks>
public sealed class OutlierGuard
{
    // Each trim parameter and the value that switches its trim off. select_topk (sce) is the one whose untrimmed merge is
    // not element-wise.
    private static readonly Dictionary<string, double> TrimOff = new(StringComparer.Ordinal)
    {
        ["density"] = 1, ["gamma"] = 0, ["epsilon"] = 0, [WholeTensorTrim] = 1,
    };
    private const string WholeTensorTrim = "select_topk";
    private readonly FrozenWatch _watch;
    private readonly OutlierGuardOptions _options;
    private readonly Lock _gate = new();
    private readonly List<OutlierChange> _changes = [];

    private OutlierGuard(FrozenWatch watch, OutlierGuardOptions options)
    {
        _watch = watch;
        _options = options;
    }

    /// <summary>Number of input coordinates watched (over every tensor and input model).</summary>
    public int WatchedCount => _watch.Count;

    /// <summary>The watched outliers whose value the trim changed, in output order (by tensor, then flat index); complete
    /// once the merge has run through <see cref="Wrap"/>.</summary>
    public IReadOnlyList<OutlierChange> Changes
    {
        get
        {
            lock (_gate) return [.. _changes.OrderBy(c => c.Tensor, NaturalOrder.Instance).ThenBy(c => c.Row).ThenBy(c => c.Column).ThenBy(c => c.Model, StringComparer.Ordinal)];
        }
    }

    /// <summary>True if <paramref name="plan"/>'s method trims task vectors (it has a density or select_topk parameter) and
    /// some tensor's parameters trim (density or select_topk below 1, or gamma above 0).</summary>
    public static bool Applies(MergePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return IsTrimmingMethod(plan.Method) && plan.Tensors.Any(t => !t.IsCopy && Trims(plan.Method, t.Parameters));
    }

    /// <summary>Scans the inputs of <paramref name="plan"/>'s trimmed tensors for outliers and computes their untrimmed merged values.</summary>
    /// <param name="plan">A validated plan; its method must satisfy <see cref="Applies"/> (otherwise nothing is watched).</param>
    /// <param name="options">What to watch; defaults if null.</param>
    /// <param name="ct">Checked between tensors.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="WeightSpaceException">An input tensor could not be read (the message names it).</exception>
    public static OutlierGuard Prepare(MergePlan plan, OutlierGuardOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        options ??= new OutlierGuardOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TopPerMatrix, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.TopPerMatrix, 10_000);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinRatioToRms);
        ArgumentOutOfRangeException.ThrowIfNegative(options.RelativeTolerance);
        var watch = new Dictionary<string, List<WatchedWeight>>(StringComparer.Ordinal);
        if (!IsTrimmingMethod(plan.Method)) return new OutlierGuard(new FrozenWatch(watch), options);
        foreach (var tensor in plan.Tensors)
        {
            ct.ThrowIfCancellationRequested();
            if (tensor.IsCopy || tensor.Output.Shape.Rank != 2 || tensor.Output.ElementCount == 0 || !Trims(plan.Method, tensor.Parameters)) continue;
            bool selected = options.Filter?.IsMatch(tensor.Output.Name) ?? TensorNames.Parse(tensor.Output.Name).Role == TensorRole.Down;
            if (!selected) continue;
            var found = FindOutliers(plan.Method, tensor, options);
            if (found.Count > 0) watch[tensor.Output.Name] = found;
        }
        return new OutlierGuard(new FrozenWatch(watch), options);
    }

    /// <summary>A sink that forwards everything to <paramref name="sink"/> and records (with <see cref="OutlierGuardOptions.Protect"/>,
    /// replaces) the merged values at the watched coordinates. It is an <see cref="IPartialTensorSink"/> if <paramref name="sink"/> is.</summary>
    public ITensorSink Wrap(ITensorSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return sink is IPartialTensorSink partial ? new PartialGuardSink(this, partial) : new GuardSink(this, sink);
    }

    private static bool Has(IMergeMethod method, string parameter) => method.Parameters.Any(p => p.Name == parameter);

    private static bool IsTrimmingMethod(IMergeMethod method) => Has(method, "density") || Has(method, WholeTensorTrim);

    private static bool Trims(IMergeMethod method, MergeParameters p)
    {
        if (Has(method, WholeTensorTrim) && p.Global(WholeTensorTrim) < 1) return true;
        bool hasDensity = Has(method, "density"), hasGamma = Has(method, "gamma");
        for (int i = 0; i < p.ModelCount; i++)
            if ((hasDensity && p.PerModel("density", i) < 1) || (hasGamma && p.PerModel("gamma", i) > 0)) return true;
        return false;
    }

    private static List<WatchedWeight> FindOutliers(IMergeMethod method, PlannedTensor tensor, OutlierGuardOptions options)
    {
        var sources = (tensor.Base is null ? tensor.Models : tensor.Models.Prepend(tensor.Base)).ToArray();
        var scanned = new List<(long Index, string Model, WeightOutlier Outlier)>();
        long columns = tensor.Output.Shape[^1];
        foreach (var source in sources)
        {
            // One input resident at a time, as in the merge itself.
            float[] values = source.Store.ReadSingle(source.StoredName);
            var top = OutlierScan.ScanMatrix(tensor.Output, values, options.TopPerMatrix);
            foreach (var o in top.Outliers)
                if (o.RatioToRms >= options.MinRatioToRms) scanned.Add((checked(o.Row * columns + o.Column), source.Model, o));
        }
        if (scanned.Count == 0) return [];
        // One watch per coordinate, named after the input where it stands out most.
        scanned = [.. scanned.GroupBy(s => s.Index).Select(g => g.MaxBy(s => s.Outlier.RatioToRms))];
        long[] indices = [.. scanned.Select(s => s.Index).Order()];
        // Every input's value at the watched coordinates: a one-element read each, from the mapped views.
        var valuesAt = new float[sources.Length][];
        for (int s = 0; s < sources.Length; s++)
        {
            using var data = sources[s].Store.Read(sources[s].StoredName);
            valuesAt[s] = new float[indices.Length];
            for (int k = 0; k < indices.Length; k++) data.CopyTo(indices[k], valuesAt[s].AsSpan(k, 1));
        }
        var untrimmed = UntrimmedParameters(method.Parameters, tensor.Parameters);
        float[]? wholeTensor = Has(method, WholeTensorTrim) ? UntrimmedTensor(method, tensor, sources, untrimmed) : null;
        var result = new List<WatchedWeight>(scanned.Count);
        foreach (var (index, model, outlier) in scanned)
        {
            int k = Array.BinarySearch(indices, index);
            float? baseValue = tensor.Base is null ? null : valuesAt[0][k];
            float reference = wholeTensor is not null ? wholeTensor[index] : UntrimmedValue(method, tensor, untrimmed, valuesAt, k);
            result.Add(new WatchedWeight(index, outlier.Row, outlier.Column, model, outlier.Value, outlier.RatioToRms, baseValue, reference));
        }
        return result;
    }

    private static MergeParameters UntrimmedParameters(IReadOnlyList<ParameterSpec> specs, MergeParameters p)
    {
        var values = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            double[] v = spec.Scope == ParameterScope.Global ? [p.Global(spec.Name)] : [.. Enumerable.Range(0, p.ModelCount).Select(i => p.PerModel(spec.Name, i))];
            if (TrimOff.TryGetValue(spec.Name, out double off)) Array.Fill(v, off);
            values[spec.Name] = v;
        }
        return MergeParameters.Create(specs, p.ModelCount, values);
    }

    // The method itself on one element: no trim, so the result is the untrimmed merge at this coordinate.
    private static float UntrimmedValue(IMergeMethod method, PlannedTensor tensor, MergeParameters untrimmed, float[][] valuesAt, int k)
    {
        int first = tensor.Base is null ? 0 : 1;
        var one = new TensorInfo(tensor.Output.Name, DType.F32, new Shape(1, 1));
        Memory<float> baseValue = tensor.Base is null ? Memory<float>.Empty : new[] { valuesAt[0][k] };
        var models = Enumerable.Range(first, valuesAt.Length - first).Select(s => (Memory<float>)new[] { valuesAt[s][k] }).ToArray();
        var destination = new float[1];
        method.Merge(new MergeInputs(one, baseValue, models, untrimmed, tensor.Seed), destination);
        return destination[0];
    }

    // The method on the whole tensor with the trim off (methods whose untrimmed merge is not element-wise). The inputs are
    // fresh copies: a method may overwrite its model buffers.
    private static float[] UntrimmedTensor(IMergeMethod method, PlannedTensor tensor, TensorSource[] sources, MergeParameters untrimmed)
    {
        int first = tensor.Base is null ? 0 : 1;
        Memory<float> baseValues = tensor.Base is null ? Memory<float>.Empty : sources[0].Store.ReadSingle(sources[0].StoredName);
        var models = sources.Skip(first).Select(s => (Memory<float>)s.Store.ReadSingle(s.StoredName)).ToArray();
        var destination = new float[checked((int)tensor.Output.ElementCount)];
        method.Merge(new MergeInputs(tensor.Output, baseValues, models, untrimmed, tensor.Seed), destination);
        return destination;
    }

    private void Observe(string name, long start, ReadOnlySpan<float> values, Span<float> protectedValues, out bool changed)
    {
        changed = false;
        if (!_watch.TryGet(name, out var watched)) return;
        long end = start + values.Length;
        foreach (var w in watched)
        {
            if (w.Index < start || w.Index >= end) continue;
            float merged = values[(int)(w.Index - start)];
            double scale = Math.Max(Math.Abs(w.Untrimmed), Math.Abs(w.OutlierValue));
            if (!(Math.Abs(merged - w.Untrimmed) > _options.RelativeTolerance * scale) && !float.IsNaN(merged)) continue;
            if (_options.Protect)
            {
                protectedValues[(int)(w.Index - start)] = w.Untrimmed;
                changed = true;
            }
            lock (_gate) _changes.Add(new OutlierChange(name, w.Row, w.Column, w.Model, w.OutlierValue, w.RatioToRms, w.BaseValue, w.Untrimmed, merged, _options.Protect));
        }
    }

    private sealed record WatchedWeight(long Index, long Row, long Column, string Model, float OutlierValue, double RatioToRms, float? BaseValue, float Untrimmed);

    private sealed class FrozenWatch(Dictionary<string, List<WatchedWeight>> byTensor)
    {
        public int Count { get; } = byTensor.Values.Sum(l => l.Count);

        public bool TryGet(string name, out List<WatchedWeight> watched) => byTensor.TryGetValue(name, out watched!);

        public bool Covers(string name, long start, int length) =>
            byTensor.TryGetValue(name, out var list) && list.Exists(w => w.Index >= start && w.Index < start + length);
    }

    private class GuardSink(OutlierGuard guard, ITensorSink inner) : ITensorSink
    {
        protected OutlierGuard Guard { get; } = guard;

        public void Write(string name, ReadOnlySpan<float> values)
        {
            if (!Guard._watch.Covers(name, 0, values.Length)) { inner.Write(name, values); return; }
            float[] copy = Guard._options.Protect ? values.ToArray() : [];
            Guard.Observe(name, 0, values, copy, out bool changed);
            inner.Write(name, changed ? copy : values);
        }

        public void WriteBytes(string name, ReadOnlySpan<byte> values) => inner.WriteBytes(name, values);
    }

    private sealed class PartialGuardSink(OutlierGuard guard, IPartialTensorSink partial) : GuardSink(guard, partial), IPartialTensorSink
    {
        public void WritePart(string name, long elementOffset, ReadOnlySpan<float> values)
        {
            if (!Guard._watch.Covers(name, elementOffset, values.Length)) { partial.WritePart(name, elementOffset, values); return; }
            float[] copy = Guard._options.Protect ? values.ToArray() : [];
            Guard.Observe(name, elementOffset, values, copy, out bool changed);
            partial.WritePart(name, elementOffset, changed ? copy : values);
        }
    }
}
