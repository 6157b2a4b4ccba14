using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Alignment;

/// <summary>Activation matching: pairs each hidden unit of model B with the unit of model A whose post-ReLU activations
/// on the same inputs correlate best, one linear assignment per layer.</summary>
/// <remarks>Git Re-Basin (Ainsworth et al., ICLR 2023, section 3.1; <see href="https://arxiv.org/abs/2209.04836"/>),
/// with the Pearson correlation of Li et al., "Convergent Learning", ICLR 2016 as the profit. For a convolution a unit is
/// a channel, observed at every sample and position. Layers are independent because every group of a feed-forward
/// chain is observed directly.</remarks>
public static class ActivationMatching
{
    /// <summary>Finds permutations aligning <paramref name="b"/> to <paramref name="a"/> from activations on <paramref name="data"/>.</summary>
    /// <param name="a">Reference model.</param>
    /// <param name="b">Model to permute.</param>
    /// <param name="spec">The spec (e.g. <see cref="PermutationSpec.FromArchitecture"/>); each group must be the
    /// output axis of a layer followed by a ReLU in <paramref name="architecture"/>.</param>
    /// <param name="architecture">The network both models share.</param>
    /// <param name="data">Inputs, preprocessed as in training (a few hundred to a few thousand samples).</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="InvalidPermutationSpecException">The spec does not fit, or a group is never observed.</exception>
    public static AlignmentResult Align(TensorStore a, TensorStore b, PermutationSpec spec, NetworkArchitecture architecture,
        Dataset data, int batchSize = 500, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(data);
        var sizes = AlignmentMath.CheckPair(a, b, spec);
        var sums = new Dictionary<string, Moments>(StringComparer.Ordinal);
        using (var outer = NewDisposeScope())
        using (no_grad())
        {
            var wa = TorchWeights.ToTensors(a);
            var wb = TorchWeights.ToTensors(b);
            for (int start = 0; start < data.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, data.Count - start);
                var (x, _) = TorchModelEvaluator.Batch(data, start, n);
                var actsA = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                architecture.Forward(wa, x, NetworkArchitecture.BatchNormMode.Eval, (module, act) => actsA[module] = act);
                architecture.Forward(wb, x, NetworkArchitecture.BatchNormMode.Eval, (module, act) =>
                {
                    string? group = spec.AxesOf(module + ".weight") is { IsEmpty: false } axes ? axes[0] : null;
                    if (group is null) return;
                    if (!sums.TryGetValue(group, out var m)) sums[group] = m = new Moments(sizes[group]);
                    m.Add(Units(actsA[module]), Units(act));
                });
            }
            var perms = new Dictionary<string, int[]>(StringComparer.Ordinal);
            foreach (string group in spec.Groups)
            {
                if (!sums.TryGetValue(group, out var m))
                    throw new InvalidPermutationSpecException(spec.Source, $"group '{group}' is not the output of any layer followed by a ReLU, so activation matching cannot observe it");
                var corr = m.Correlation();
                var assignment = new int[sizes[group]];
                LinearAssignment.SolveMaximum(corr, sizes[group], assignment);
                perms[group] = assignment;
            }
            foreach (var m in sums.Values) m.Dispose();
            return AlignmentMath.Report("activation_matching", a, b, spec, perms, spec.Tensors.ToHashSet(StringComparer.Ordinal), 1);
        }
    }

    // [N, C, …] → [C, N·…]: one row of observations per unit.
    private static Tensor Units(Tensor act) =>
        act.dim() == 2 ? act.t().to_type(ScalarType.Float64) : act.movedim([1], [0]).reshape(act.shape[1], -1).to_type(ScalarType.Float64);

    /// <summary>Running sums for the correlation matrix between A's and B's units.</summary>
    private sealed class Moments(int size) : IDisposable
    {
        private readonly Tensor _sumA = zeros([size], ScalarType.Float64).MoveToOuterDisposeScope();
        private readonly Tensor _sumB = zeros([size], ScalarType.Float64).MoveToOuterDisposeScope();
        private readonly Tensor _sqA = zeros([size], ScalarType.Float64).MoveToOuterDisposeScope();
        private readonly Tensor _sqB = zeros([size], ScalarType.Float64).MoveToOuterDisposeScope();
        private readonly Tensor _cross = zeros([size, size], ScalarType.Float64).MoveToOuterDisposeScope();
        private long _count;

        public void Add(Tensor ua, Tensor ub)
        {
            _sumA.add_(ua.sum(1));
            _sumB.add_(ub.sum(1));
            _sqA.add_(ua.square().sum(1));
            _sqB.add_(ub.square().sum(1));
            _cross.add_(ua.matmul(ub.t()));
            _count += ua.shape[1];
        }

        public double[] Correlation()
        {
            using var scope = NewDisposeScope();
            double n = _count;
            var meanA = _sumA / n;
            var meanB = _sumB / n;
            var cov = _cross / n - meanA.unsqueeze(1) * meanB.unsqueeze(0);
            // A dead unit (zero variance) correlates with nothing; the epsilon keeps it finite and lets the LAP place it anywhere.
            var stdA = (_sqA / n - meanA.square()).clamp_min(0).sqrt() + 1e-12;
            var stdB = (_sqB / n - meanB.square()).clamp_min(0).sqrt() + 1e-12;
            var corr = cov / (stdA.unsqueeze(1) * stdB.unsqueeze(0));
            return corr.contiguous().data<double>().ToArray();
        }

        public void Dispose()
        {
            _sumA.Dispose(); _sumB.Dispose(); _sqA.Dispose(); _sqB.Dispose(); _cross.Dispose();
        }
    }
}
