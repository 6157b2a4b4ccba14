using static TorchSharp.torch;

namespace WeightSpace.Analysis.Alignment;

/// <summary>Shared pieces of the alignment methods: loading tensors, applying permutations in torch, and the report.</summary>
internal static class AlignmentMath
{
    public static IReadOnlyDictionary<string, int> CheckPair(TensorStore a, TensorStore b, PermutationSpec spec)
    {
        var sizes = spec.ResolveSizes(a);
        var sizesB = spec.ResolveSizes(b);
        foreach (string t in spec.Tensors)
            if (a.GetInfo(t).Shape != b.GetInfo(t).Shape)
                throw new InvalidPermutationSpecException(spec.Source, $"tensor '{t}' is {a.GetInfo(t).Shape} in {a.Path} but {b.GetInfo(t).Shape} in {b.Path}");
        foreach (var (g, n) in sizes)
            if (sizesB[g] != n) throw new InvalidPermutationSpecException(spec.Source, $"group '{g}' has size {n} in {a.Path} but {sizesB[g]} in {b.Path}");
        return sizes;
    }

    /// <summary>A float64 torch tensor with the stored shape (the caller's dispose scope owns it).</summary>
    public static Tensor Load(TensorStore store, string name)
    {
        var info = store.GetInfo(name);
        return tensor(store.ReadDouble(name), info.Shape.ToArray(), ScalarType.Float64);
    }

    /// <summary>Applies every group's permutation to the axes of <paramref name="x"/>, except <paramref name="skipAxis"/>.</summary>
    public static Tensor PermuteAll(Tensor x, IReadOnlyList<string?> axes, IReadOnlyDictionary<string, int[]> perms, int skipAxis = -1)
    {
        for (int axis = 0; axis < axes.Count; axis++)
        {
            if (axis == skipAxis || axes[axis] is not string g || !perms.TryGetValue(g, out var p)) continue;
            var index = PermutationSpec.ExpandToAxis(p, x.shape[axis]);
            x = x.index_select(axis, tensor(index.Select(i => (long)i).ToArray()));
        }
        return x;
    }

    public static AlignmentResult Report(string method, TensorStore a, TensorStore b, PermutationSpec spec,
        Dictionary<string, int[]> perms, IReadOnlySet<string> objectiveTensors, int iterations)
    {
        using var scope = NewDisposeScope();
        var identity = perms.ToDictionary(kv => kv.Key, kv => Enumerable.Range(0, kv.Value.Length).ToArray(), StringComparer.Ordinal);
        // Per tensor: inner product and squared distance, before (identity) and after.
        var stats = new Dictionary<string, (double DotBefore, double DotAfter, double SqBefore, double SqAfter)>(StringComparer.Ordinal);
        double totalBefore = 0, totalAfter = 0;
        foreach (var info in a.Tensors)
        {
            if (!info.DType.IsFloatingPoint() || !b.TryGetInfo(info.Name, out var infoB) || infoB.Shape != info.Shape) continue;
            using var inner = NewDisposeScope();
            var ta = Load(a, info.Name);
            var tb = Load(b, info.Name);
            var axes = spec.AxesOf(info.Name);
            var pb = axes.IsEmpty ? tb : PermuteAll(tb, axes, perms);
            double sqBefore = ta.sub(tb).square().sum().item<double>();
            double sqAfter = ta.sub(pb).square().sum().item<double>();
            totalBefore += sqBefore;
            totalAfter += sqAfter;
            if (!axes.IsEmpty)
                stats[info.Name] = (ta.mul(tb).sum().item<double>(), ta.mul(pb).sum().item<double>(), sqBefore, sqAfter);
        }
        var groups = new List<GroupAlignment>();
        foreach (string g in spec.Groups)
        {
            double objBefore = 0, objAfter = 0, sqBefore = 0, sqAfter = 0;
            foreach (string t in spec.Members(g).Select(m => m.Tensor).Distinct())
            {
                var s = stats[t];
                if (objectiveTensors.Contains(t)) { objBefore += s.DotBefore; objAfter += s.DotAfter; }
                sqBefore += s.SqBefore;
                sqAfter += s.SqAfter;
            }
            var p = perms[g];
            int fixedPoints = 0;
            for (int i = 0; i < p.Length; i++) if (p[i] == i) fixedPoints++;
            groups.Add(new GroupAlignment(g, p.Length, objBefore, objAfter, Math.Sqrt(sqBefore), Math.Sqrt(sqAfter), fixedPoints));
        }
        return new AlignmentResult(method, perms, groups, Math.Sqrt(totalBefore), Math.Sqrt(totalAfter), iterations);
    }
}
