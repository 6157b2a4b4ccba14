using TorchSharp;

namespace WeightSpace.Analysis.Spectra;

/// <summary>Spectral analysis of weight matrices: empirical spectral densities (ESDs), heavy-tailed power-law fits,
/// Marchenko–Pastur bulk fits and the WeightWatcher metrics, per layer and per checkpoint (docs/spectra.md).</summary>
/// <remarks>
/// Streaming: a layer's tensor is read, analysed and released before the next (with
/// <see cref="SpectrumOptions.MaxDegreeOfParallelism"/> = p, at most p at once). A layer that cannot be analysed is
/// reported with status <c>failed</c> and the reason; the analysis goes on. Results depend only on the inputs, the
/// options and the seed, never on thread scheduling.
/// </remarks>
public static partial class SpectrumAnalyzer
{
    /// <summary>Analyses every tensor of <paramref name="store"/>.</summary>
    /// <returns>One entry per tensor in checkpoint order (per slice for unpooled WeightWatcher conv slices); tensors
    /// that are not analysed carry status <c>skipped</c> and the reason.</returns>
    /// <exception cref="WeightSpaceException">An option is invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static SpectrumReport Analyze(TensorStore store, SpectrumOptions? options = null,
        IProgress<SpectrumProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var planner = new LayerPlanner(options ?? SpectrumOptions.Default);
        var opts = planner.Options;
        var cache = opts.CacheDirectory is null ? null : new SpectrumCache(opts.CacheDirectory, store, opts);
        var tensors = store.Tensors;
        var results = new LayerSpectrum[tensors.Count][];
        // Largest first, so the last matrices to finish are small and no core idles behind one big solve.
        int[] order = Enumerable.Range(0, tensors.Count).OrderByDescending(i => tensors[i].ElementCount).ThenBy(i => i).ToArray();
        int done = 0;
        void Finish(int i, LayerSpectrum[] result, bool fromCache)
        {
            results[i] = result;
            if (!fromCache) cache?.Write(tensors[i], i, result);
            progress?.Report(new SpectrumProgress(Interlocked.Increment(ref done), tensors.Count, tensors[i].Name)
                { FromCache = fromCache, Analysed = result.Any(r => r.Status == LayerStatus.Ok) });
        }

        using (TorchThreads(opts))
        {
            if (opts.MaxDegreeOfParallelism == 1)
            {
                // One solver at a time; the next tensor is read and widened on another thread during the current solve.
                Task<PreparedTensor>? next = Task.Run(() => Prepare(store, tensors[order[0]], planner, cache), cancellationToken);
                for (int k = 0; k < order.Length; k++)
                {
                    var current = next!.GetAwaiter().GetResult();
                    var following = k + 1 < order.Length ? tensors[order[k + 1]] : null;
                    next = following is null ? null : Task.Run(() => Prepare(store, following, planner, cache), cancellationToken);
                    cancellationToken.ThrowIfCancellationRequested();
                    Finish(order[k], Complete(current), current.Cached is not null);
                    ReleaseLargeMatrix(current.Matrix);
                }
            }
            else
            {
                var partitioner = System.Collections.Concurrent.Partitioner.Create(order, loadBalance: true);
                Parallel.ForEach(partitioner,
                    new ParallelOptions { MaxDegreeOfParallelism = opts.MaxDegreeOfParallelism, CancellationToken = cancellationToken },
                    i =>
                    {
                        var prepared = Prepare(store, tensors[i], planner, cache);
                        Finish(i, Complete(prepared), prepared.Cached is not null);
                        ReleaseLargeMatrix(prepared.Matrix);
                    });
            }
        }
        var layers = results.SelectMany(r => r).ToArray();
        return new SpectrumReport(store.Path, layers, SpectrumSummaries.Summarize(layers));
    }

    /// <summary>Widened matrices live on the large-object heap, which is collected only with generation 2: left to the
    /// GC, a run over 7B-shaped layers kept several dead 180 MB arrays and peaked above 2 GB for one block. A matrix
    /// of 64 MB or more is therefore collected as soon as its solve is done (a gen-2 pass over a small managed heap
    /// costs milliseconds against seconds of solve).</summary>
    private static void ReleaseLargeMatrix(LayerMatrix? matrix)
    {
        if (matrix is null || matrix.ElementCount * (matrix.Single is not null ? 4L : 8L) < LargeMatrixBytes) return;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

    private const long LargeMatrixBytes = 64L << 20;

    /// <summary>A tensor ready for its solve: read and checked, or already answered (skipped, failed or cached).</summary>
    private sealed record PreparedTensor(LayerMatrix? Matrix, LayerSpectrum[]? Done, LayerSpectrum[]? Cached, TensorInfo Info, string? Kind);

    private static PreparedTensor Prepare(TensorStore store, TensorInfo info, LayerPlanner planner, SpectrumCache? cache)
    {
        var (plan, skipped) = planner.Plan(info);
        if (plan is null) return new PreparedTensor(null, [skipped!], null, info, null);
        if (cache?.TryRead(info) is { } cached) return new PreparedTensor(null, null, cached.ToArray(), info, plan.Kind);
        try
        {
            return new PreparedTensor(planner.Load(store, info, plan), null, null, info, plan.Kind);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new PreparedTensor(null, [Failed(info.Name, info.Shape.ToArray(), plan.Kind, e)], null, info, plan.Kind);
        }
    }

    private static LayerSpectrum[] Complete(PreparedTensor prepared)
    {
        if (prepared.Cached is not null) return prepared.Cached;
        if (prepared.Done is not null) return prepared.Done;
        try
        {
            return AnalyzeLoaded(prepared.Matrix!);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return [Failed(prepared.Info.Name, prepared.Info.Shape.ToArray(), prepared.Kind!, e)];
        }
    }

    /// <summary>Analyses one dense matrix given in row-major order.</summary>
    /// <param name="name">Name reported in the result.</param>
    /// <param name="values">rows·cols values, row-major.</param>
    /// <param name="rows">Rows (either side may be the larger).</param>
    /// <param name="cols">Columns.</param>
    /// <param name="options">Options; name filters, embedding rule and size limits do not apply.</param>
    /// <returns>The layer's metrics; status <c>failed</c> with the reason if the values are not finite.</returns>
    /// <exception cref="ArgumentException">The value count is not rows·cols.</exception>
    public static LayerSpectrum AnalyzeMatrix(string name, ReadOnlySpan<float> values, long rows, long cols, SpectrumOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (rows < 1 || cols < 1 || values.Length != rows * cols)
            throw new ArgumentException($"Matrix '{name}' is {rows}×{cols} but {values.Length} values were given.", nameof(values));
        var planner = new LayerPlanner(options ?? SpectrumOptions.Default);
        var plan = new LayerPlan("dense", rows, cols, 1, 1, null);
        float[]? single = null;
        double[]? doubles = null;
        if (planner.Options.Precision == SpectrumPrecision.Float32) single = values.ToArray();
        else { doubles = new double[values.Length]; System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<float, double>(values, doubles); }
        try
        {
            return AnalyzeLoaded(planner.Create(name, [rows, cols], plan, single, doubles))[0];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Failed(name, [rows, cols], "dense", e);
        }
    }

    /// <summary>The matrices <see cref="Analyze"/> would analyse, read and prepared one at a time (skipped tensors are
    /// left out). With <see cref="SingularValues(LayerMatrix)"/> a benchmark can time the bare SVDs of the same
    /// matrices.</summary>
    /// <exception cref="WeightSpaceException">An option is invalid, or a tensor is unreadable or not finite.</exception>
    public static IEnumerable<LayerMatrix> LayerMatrices(TensorStore store, SpectrumOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var planner = new LayerPlanner(options ?? SpectrumOptions.Default);
        return Iterate();

        IEnumerable<LayerMatrix> Iterate()
        {
            foreach (var info in store.Tensors)
            {
                var (plan, _) = planner.Plan(info);
                if (plan is not null) yield return planner.Load(store, info, plan);
            }
        }
    }

    /// <summary>The bare singular values behind a layer's spectrum: one torch <c>linalg.svdvals</c> call (after the
    /// FFT in operator mode), nothing else.</summary>
    /// <returns><see cref="LayerMatrix.MatrixCount"/> blocks of <see cref="LayerMatrix.M"/> values, each descending.</returns>
    public static double[] SingularValues(LayerMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return SpectralSolver.SingularValues(matrix);
    }

    /// <summary>The singular values as <see cref="SingularValues(LayerMatrix)"/> lays them out, by the given solver:
    /// <see cref="SpectralSolverKind.Gram"/> is one matmul and one <c>linalg.eigvalsh</c> on the smaller side (complex
    /// operator symbols always take the SVD).</summary>
    public static double[] SingularValues(LayerMatrix matrix, SpectralSolverKind solver)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return SpectralSolver.Solve(matrix, solver);
    }

    /// <summary>Spectrum of a loaded matrix: one entry, or one per slice for unpooled WeightWatcher conv slices.</summary>
    internal static LayerSpectrum[] AnalyzeLoaded(LayerMatrix matrix)
    {
        var options = matrix.Options;
        var solver = SpectralSolver.Effective(matrix);
        string solverName = solver == SpectralSolverKind.Gram ? "gram" : "svd";
        double[] sigma = SpectralSolver.Solve(matrix, solver);
        double[]? shuffled = options.Randomize ? SpectralSolver.Solve(RandomizedComparison.Shuffle(matrix, matrix.Name), solver) : null;
        bool unpooled = matrix.Kind != "dense" && options.ConvMode == ConvSpectrumMode.WeightWatcher && !options.PoolConvSlices;
        if (!unpooled)
        {
            double scale = SpectralMetrics.Scale(matrix, pooled: true);
            var randomized = shuffled is null ? null
                : RandomizedComparison.Compare(SpectralMetrics.Eigenvalues(sigma, scale), shuffled, matrix, scale, matrix.MatrixCount);
            return [SpectralMetrics.Build(matrix.Name, matrix.Shape, matrix.Kind, sigma, matrix.MatrixCount, matrix.N, matrix.M,
                scale, LayerPlanner.FrobeniusNorm(matrix), options, randomized, solver) with { Solver = solverName }];
        }

        double sliceScale = SpectralMetrics.Scale(matrix, pooled: false);
        int m = (int)matrix.M;
        var slices = new LayerSpectrum[matrix.MatrixCount];
        for (int s = 0; s < slices.Length; s++)
        {
            var sliceSigma = sigma.AsSpan(s * m, m);
            var randomized = shuffled is null ? null
                : RandomizedComparison.Compare(SpectralMetrics.Eigenvalues(sliceSigma, sliceScale), shuffled.AsSpan(s * m, m), matrix, sliceScale, 1);
            double frobenius = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<double>(sliceSigma));
            string name = $"{matrix.Name}[{s / matrix.KernelWidth},{s % matrix.KernelWidth}]";
            slices[s] = SpectralMetrics.Build(name, matrix.Shape, "conv2d-slice", sliceSigma, 1, matrix.N, matrix.M,
                sliceScale, frobenius, options, randomized, solver) with { Solver = solverName };
        }
        return slices;
    }

    private static LayerSpectrum Failed(string name, long[] shape, string kind, Exception e) =>
        new() { Name = name, Shape = shape, Kind = kind, Status = LayerStatus.Failed, Reason = $"{e.GetType().Name}: {e.Message}" };

    /// <summary>Sets torch's process-wide intra-op thread count for the analysis and restores it on dispose.</summary>
    private static IDisposable TorchThreads(SpectrumOptions options)
    {
        int previous = torch.get_num_threads();
        int wanted = options.TorchThreads ?? Math.Max(1, Environment.ProcessorCount / options.MaxDegreeOfParallelism);
        if (wanted != previous) torch.set_num_threads(wanted);
        return new Restore(() => { if (wanted != previous) torch.set_num_threads(previous); });
    }

    private sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
