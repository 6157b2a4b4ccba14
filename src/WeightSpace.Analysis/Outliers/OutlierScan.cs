using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Outliers;

/// <summary>Data-free outlier scan: the largest-magnitude weights of every matrix, with their coordinates and their ratio
/// to the matrix's RMS (the "super weights" of Yu et al. 2024 are among the largest of a down projection).</summary>
/// <remarks>One tensor is resident at a time, widened to float32 into one reused buffer. The scan is a vectorised pass: blocks of 4096
/// weights whose largest magnitude (<see cref="TensorPrimitives.MaxMagnitude(ReadOnlySpan{float})"/>) cannot enter the
/// current top N are skipped, so nearly all of a matrix is read only by SIMD code.</remarks>
public static class OutlierScan
{
    private const int Block = 4096;

    /// <summary>Scans <paramref name="store"/>'s 2-D floating-point tensors.</summary>
    /// <param name="store">The checkpoint.</param>
    /// <param name="options">What to scan; defaults if null.</param>
    /// <param name="progress">Receives the number of tensors done.</param>
    /// <param name="cancellationToken">Checked between tensors.</param>
    /// <exception cref="InvalidCheckpointException">A tensor's data is malformed, or no tensor qualifies.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="OutlierScanOptions.TopPerMatrix"/> is out of range.</exception>
    public static IReadOnlyList<MatrixOutliers> Scan(TensorStore store, OutlierScanOptions? options = null, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default) =>
        ScanMatrices(store, options, include: null, progress, cancellationToken);

    /// <summary>The scan restricted to the tensors <paramref name="include"/> keeps (one shard), in the whole scan's order.</summary>
    internal static IReadOnlyList<MatrixOutliers> ScanMatrices(TensorStore store, OutlierScanOptions? options, Func<string, bool>? include,
        IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new OutlierScanOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TopPerMatrix, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.TopPerMatrix, 10_000);
        var result = new List<MatrixOutliers>();
        var tensors = Scanned(store, options);
        // One float32 buffer the size of the largest matrix, reused: a fresh array per tensor leaves the previous one to
        // the GC, and on a 7B checkpoint two lm_head-sized arrays plus the mapped file exceeded the memory budget.
        long largest = tensors.Max(t => t.ElementCount);
        if (largest > Array.MaxLength)
            throw new InvalidCheckpointException(store.Path, tensors.First(t => t.ElementCount == largest).Name, $"has {largest} elements; at most {Array.MaxLength} can be scanned");
        var buffer = new float[largest];
        foreach (var info in tensors)
        {
            if (include is not null && !include(info.Name)) continue;
            cancellationToken.ThrowIfCancellationRequested();
            var values = buffer.AsSpan(0, (int)info.ElementCount);
            using (var data = store.Read(info.Name)) data.CopyTo(values);
            result.Add(ScanMatrix(info, values, options.TopPerMatrix));
            progress?.Report(result.Count);
        }
        return result;
    }

    /// <summary>The tensors a scan reads, in its order (natural order of names), from the header alone.</summary>
    /// <exception cref="InvalidCheckpointException">No tensor qualifies.</exception>
    internal static List<TensorInfo> Scanned(TensorStore store, OutlierScanOptions options)
    {
        var tensors = store.Tensors.Where(t => t.Shape.Rank == 2 && t.DType.IsFloatingPoint() && t.ElementCount > 0 && (options.Filter?.IsMatch(t.Name) ?? true))
            .OrderBy(t => t.Name, NaturalOrder.Instance).ToList();
        if (tensors.Count == 0)
            throw new InvalidCheckpointException(store.Path, null, options.Filter is null ? "has no 2-D floating-point tensor to scan" : $"no 2-D floating-point tensor matches '{options.Filter}'");
        return tensors;
    }

    /// <summary>The top <paramref name="top"/> weights by magnitude of one matrix given as float32 values in C order.</summary>
    internal static MatrixOutliers ScanMatrix(TensorInfo info, ReadOnlySpan<float> values, int top)
    {
        double sumSquares = 0;
        for (int start = 0; start < values.Length; start += Block)
        {
            var block = values.Slice(start, Math.Min(Block, values.Length - start));
            sumSquares += TensorPrimitives.SumOfSquares(block);   // float within a block, double across blocks
        }
        double rms = Math.Sqrt(sumSquares / values.Length);
        // Min-heap of (|w|, -index): the root is the weakest of the current top, ties broken towards lower indices.
        var heap = new PriorityQueue<long, (float Magnitude, long NegIndex)>(top + 1);
        float threshold = float.NegativeInfinity;
        for (int start = 0; start < values.Length; start += Block)
        {
            var block = values.Slice(start, Math.Min(Block, values.Length - start));
            float blockMax = TensorPrimitives.MaxMagnitude(block);
            float magnitudeOfMax = MathF.Abs(blockMax);
            if (float.IsNaN(blockMax)) magnitudeOfMax = float.PositiveInfinity;
            if (heap.Count == top && magnitudeOfMax < threshold) continue;
            for (int i = 0; i < block.Length; i++)
            {
                float m = MathF.Abs(block[i]);
                if (float.IsNaN(m)) m = float.PositiveInfinity;   // a NaN weight is the worst outlier there is
                if (heap.Count == top && m <= threshold) continue;
                long index = start + i;
                heap.Enqueue(index, (m, -index));
                if (heap.Count > top) heap.Dequeue();
                if (heap.Count == top) { heap.TryPeek(out _, out var weakest); threshold = weakest.Magnitude; }
            }
        }
        long columns = info.Shape.Rank >= 2 ? info.Shape[^1] : 1;
        var name = TensorNames.Parse(info.Name);
        var outliers = new List<WeightOutlier>(heap.Count);
        while (heap.TryDequeue(out long index, out _))
        {
            float v = values[(int)index];
            outliers.Add(new WeightOutlier(info.Name, name.Layer, index / columns, index % columns, v, rms > 0 ? MathF.Abs(v) / rms : double.PositiveInfinity));
        }
        outliers.Reverse();
        return new MatrixOutliers(info.Name, name.Layer, name.Role, info.Shape, rms, outliers);
    }
}
