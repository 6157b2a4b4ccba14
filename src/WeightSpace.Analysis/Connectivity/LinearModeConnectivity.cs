using System.Numerics.Tensors;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Analysis.Connectivity;

/// <summary>Linear mode connectivity: how loss and accuracy behave on the straight line (or plane) between trained
/// weight vectors (Frankle et al., ICML 2020, <see href="https://arxiv.org/abs/1912.05671"/>).</summary>
public static class LinearModeConnectivity
{
    /// <summary>Evaluates θ(α) = (1−α)θ_A + αθ_B at evenly spaced α and computes the barriers.</summary>
    /// <exception cref="ModelMismatchException">The stores hold different tensors or shapes.</exception>
    /// <exception cref="ArgumentException">Fewer than 2 points are asked
    /// for, or a reset is asked of an evaluator that cannot do it.</exception>
    public static ConnectivityCurve Interpolate(TensorStore a, TensorStore b, IModelEvaluator evaluator, Dataset data,
        ConnectivityOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(data);
        options ??= ConnectivityOptions.Default;
        if (options.Points < 2) throw new ArgumentException($"Points is {options.Points}; at least 2 are needed.", nameof(options));
        var reset = Resetter(evaluator, options.NormalizationResetData);
        var fa = FlatWeights.Read(a);
        var fb = FlatWeights.Read(b);
        fa.CheckCompatible(fb);

        int n = options.Points;
        var alphas = new double[n];
        for (int i = 0; i < n; i++) alphas[i] = i == n - 1 ? 1.0 : (double)i / (n - 1);
        if (n % 2 == 0) alphas = [.. alphas, 0.5];   // the midpoint barrier needs α = 0.5
        Array.Sort(alphas);
        var loss = new double[alphas.Length];
        var accuracy = new double[alphas.Length];
        for (int i = 0; i < alphas.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TensorStore point = FlatWeights.Combine(fa, 1 - alphas[i], fb, alphas[i], null, 0, a.Path);
            if (reset is not null) point = reset.ResetNormalization(point, options.NormalizationResetData!, cancellationToken);
            var e = evaluator.Evaluate(point, data, cancellationToken);
            loss[i] = e.Loss;
            accuracy[i] = e.Accuracy;
            progress?.Report(i + 1);
        }
        return new ConnectivityCurve(alphas, loss, accuracy,
            ConnectivityBarrier.Maximum(alphas, loss), ConnectivityBarrier.AccuracyMaximum(alphas, accuracy),
            ConnectivityBarrier.Midpoint(alphas, loss), ConnectivityBarrier.AccuracyMidpoint(alphas, accuracy), reset is not null);
    }

    /// <summary>θ(α) = (1−α)θ_A + αθ_B for every floating-point tensor (as F32); other tensors are copied from A.</summary>
    /// <exception cref="ModelMismatchException">The stores hold different tensors or shapes.</exception>
    public static InMemoryTensorStore Lerp(TensorStore a, TensorStore b, double alpha)
    {
        var fa = FlatWeights.Read(a);
        var fb = FlatWeights.Read(b);
        fa.CheckCompatible(fb);
        return FlatWeights.Combine(fa, 1 - alpha, fb, alpha, null, 0, a.Path);
    }

    /// <summary>Evaluates a <paramref name="resolution"/>² grid over the plane through θ_A, θ_B and θ_C, extending
    /// <paramref name="margin"/> (a fraction of the span) beyond the three models on every side.</summary>
    /// <exception cref="ModelMismatchException">The stores differ in tensors or shapes.</exception>
    /// <exception cref="WeightSpaceException">The three points are (nearly) collinear.</exception>
    public static LossPlane Plane(TensorStore a, TensorStore b, TensorStore c, IModelEvaluator evaluator, Dataset data,
        int resolution = 21, double margin = 0.2, Dataset? normalizationResetData = null, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 2);
        var reset = Resetter(evaluator, normalizationResetData);
        var fa = FlatWeights.Read(a);
        var fb = FlatWeights.Read(b);
        var fc = FlatWeights.Read(c);
        fa.CheckCompatible(fb);
        fa.CheckCompatible(fc);

        // Gram–Schmidt in double over all float tensors, then the grid as weights on A, B, C.
        var grid = PlaneGrid.Create(FlatWeights.Dot(fa, fb, fb), FlatWeights.Dot(fa, fc, fc), FlatWeights.Dot(fa, fb, fc), resolution, margin);
        var loss = new double[resolution * resolution];
        var accuracy = new double[resolution * resolution];
        for (int j = 0; j < resolution; j++)
            for (int i = 0; i < resolution; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (wa, wb, wc) = grid.Weights(i, j);
                TensorStore point = FlatWeights.Combine(fa, wa, fb, wb, fc, wc, a.Path);
                if (reset is not null) point = reset.ResetNormalization(point, normalizationResetData!, cancellationToken);
                var e = evaluator.Evaluate(point, data, cancellationToken);
                loss[j * resolution + i] = e.Loss;
                accuracy[j * resolution + i] = e.Accuracy;
                progress?.Report(j * resolution + i + 1);
            }
        return new LossPlane(grid.X, grid.Y, loss, accuracy, grid.ModelX, grid.ModelY);
    }

    private static INormalizationReset? Resetter(IModelEvaluator evaluator, Dataset? data)
    {
        if (data is null) return null;
        return evaluator as INormalizationReset
            ?? throw new ArgumentException($"{evaluator.GetType().Name} cannot recompute normalisation statistics (it does not implement INormalizationReset).", nameof(evaluator));
    }

    /// <summary>All tensors of a store read once: floating ones as float32 arrays, others as raw bytes.</summary>
    private sealed class FlatWeights
    {
        private readonly List<(TensorInfo Info, float[]? Values, byte[]? Raw)> _tensors = [];
        private string _path = "";

        public static FlatWeights Read(TensorStore store)
        {
            ArgumentNullException.ThrowIfNull(store);
            var f = new FlatWeights { _path = store.Path };
            foreach (var info in store.Tensors)
            {
                if (info.DType.IsFloatingPoint()) f._tensors.Add((info, store.ReadSingle(info.Name), null));
                else
                {
                    using var buffer = store.Read(info.Name);
                    f._tensors.Add((info, null, buffer.Bytes.ToArray()));
                }
            }
            return f;
        }

        public void CheckCompatible(FlatWeights other)
        {
            if (other._tensors.Count != _tensors.Count)
                throw new ModelMismatchException([$"{_path} has {_tensors.Count} tensors but {other._path} has {other._tensors.Count}"]);
            for (int i = 0; i < _tensors.Count; i++)
            {
                var (x, y) = (_tensors[i].Info, other._tensors[i].Info);
                if (x.Name != y.Name || x.Shape != y.Shape || x.DType.IsFloatingPoint() != y.DType.IsFloatingPoint())
                    throw new ModelMismatchException([$"tensor {i} is {x} in {_path} but {y} in {other._path}"]);
            }
        }

        /// <summary>⟨p − origin, q − origin⟩ over floating tensors, in double.</summary>
        public static double Dot(FlatWeights origin, FlatWeights p, FlatWeights q)
        {
            double sum = 0;
            for (int t = 0; t < origin._tensors.Count; t++)
            {
                if (origin._tensors[t].Values is not float[] o) continue;
                var pv = p._tensors[t].Values!;
                var qv = q._tensors[t].Values!;
                for (int i = 0; i < o.Length; i++) sum += ((double)pv[i] - o[i]) * ((double)qv[i] - o[i]);
            }
            return sum;
        }

        public static InMemoryTensorStore Combine(FlatWeights a, double wa, FlatWeights b, double wb, FlatWeights? c, double wc, string name)
        {
            var store = new InMemoryTensorStore(name);
            for (int t = 0; t < a._tensors.Count; t++)
            {
                var (info, values, raw) = a._tensors[t];
                if (values is null)
                {
                    store.Add(info, raw);
                    continue;
                }
                var result = new float[values.Length];
                TensorPrimitives.Multiply(values, (float)wa, result);
                TensorPrimitives.MultiplyAdd(b._tensors[t].Values!, (float)wb, result, result);
                if (c is not null) TensorPrimitives.MultiplyAdd(c._tensors[t].Values!, (float)wc, result, result);
                store.Add(info.Name, result, info.Shape.ToArray());
            }
            return store;
        }
    }
}
