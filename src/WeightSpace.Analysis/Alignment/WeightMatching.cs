using static TorchSharp.torch;

namespace WeightSpace.Analysis.Alignment;

/// <summary>Weight matching: permutes model B's hidden units to maximise Σ ⟨θ_A, π(θ_B)⟩, the inner product of the two
/// weight vectors, by coordinate descent over permutation groups.</summary>
/// <remarks>
/// Ainsworth, Hayase and Srinivasa, "Git Re-Basin", ICLR 2023, Algorithm 1 (<see href="https://arxiv.org/abs/2209.04836"/>):
/// with the other groups fixed, the objective is linear in one group's permutation P, Σ_l ⟨W_A^l, P W_B^l …⟩, so the best
/// P solves a linear assignment problem on C[i, j] = Σ over the group's axes ⟨unit i of A, unit j of B⟩. Groups are
/// visited in a seeded random order, re-drawn each sweep, until a sweep improves no group.
/// </remarks>
public static class WeightMatching
{
    /// <summary>Finds the permutations aligning <paramref name="b"/> to <paramref name="a"/>.</summary>
    /// <exception cref="InvalidPermutationSpecException">The spec does not fit a store, or the stores' shapes differ.</exception>
    public static AlignmentResult Align(TensorStore a, TensorStore b, PermutationSpec spec, WeightMatchingOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(spec);
        options ??= WeightMatchingOptions.Default;
        var sizes = AlignmentMath.CheckPair(a, b, spec);
        var perms = spec.Groups.ToDictionary(g => g, g => Enumerable.Range(0, sizes[g]).ToArray(), StringComparer.Ordinal);
        var objectiveTensors = spec.Tensors.Where(options.IncludeInObjective).ToHashSet(StringComparer.Ordinal);

        using var outer = NewDisposeScope();
        var ta = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var tb = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (string t in objectiveTensors)
        {
            ta[t] = AlignmentMath.Load(a, t);
            tb[t] = AlignmentMath.Load(b, t);
        }

        var rng = new Random(options.Seed);
        var order = spec.Groups.ToArray();
        int sweeps = 0;
        bool improved = true;
        while (improved && sweeps < options.MaxIterations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sweeps++;
            improved = false;
            rng.Shuffle(order);
            foreach (string group in order)
            {
                var members = spec.Members(group).Where(m => objectiveTensors.Contains(m.Tensor)).ToList();
                if (members.Count == 0) continue;
                int n = sizes[group];
                double[] profit = Profit(spec, ta, tb, perms, group, members, n);
                var current = perms[group];
                double before = 0;
                for (int i = 0; i < n; i++) before += profit[(long)i * n + current[i]];
                var next = new int[n];
                double after = LinearAssignment.SolveMaximum(profit, n, next);
                // Relative tolerance: float sums of permuted terms differ in the last bits, which must not count as progress.
                if (after > before + 1e-12 * Math.Max(1, Math.Abs(before)))
                {
                    perms[group] = next;
                    improved = true;
                }
            }
        }
        return AlignmentMath.Report("weight_matching", a, b, spec, perms, objectiveTensors, sweeps);
    }

    // C[i, j] = Σ_members ⟨unit i of A, unit j of B with every other group applied⟩.
    private static double[] Profit(PermutationSpec spec, Dictionary<string, Tensor> ta, Dictionary<string, Tensor> tb,
        Dictionary<string, int[]> perms, string group, List<PermutationAxis> members, int n)
    {
        using var scope = NewDisposeScope();
        var c = zeros([n, n], ScalarType.Float64);
        foreach (var m in members)
        {
            var wb = AlignmentMath.PermuteAll(tb[m.Tensor], spec.AxesOf(m.Tensor), perms, skipAxis: m.Axis);
            var am = ta[m.Tensor].movedim([m.Axis], [0]).reshape(n, -1);
            var bm = wb.movedim([m.Axis], [0]).reshape(n, -1);
            c.add_(am.matmul(bm.t()));
        }
        return c.contiguous().data<double>().ToArray();
    }
}
