namespace WeightSpace.Analysis.Statistics;

/// <summary>One tensor of a <see cref="CheckpointSummary"/>: its description and, when asked for, its statistics.</summary>
public sealed record TensorSummary(TensorInfo Info, TensorStatistics? Statistics);

/// <summary>Choices for <see cref="CheckpointSummary.Create"/>.</summary>
public sealed record CheckpointSummaryOptions
{
    /// <summary>Read every tensor and compute <see cref="TensorStatistics"/> (otherwise only headers are read).</summary>
    public bool WithStatistics { get; init; }

    /// <summary>Keep only tensors whose name matches (null keeps all).</summary>
    public Regex? Filter { get; init; }

    /// <summary>Tensors scanned at once when computing statistics; memory is bounded by this many tensors' buffers.</summary>
    public int MaxParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);
}

/// <summary>What a checkpoint holds: the tensors (optionally filtered) with totals and optional statistics.</summary>
/// <param name="Path">The path that was opened.</param>
/// <param name="Format">The on-disk format.</param>
/// <param name="ParameterCount">Elements over the listed tensors.</param>
/// <param name="ByteCount">Bytes of data over the listed tensors.</param>
/// <param name="Tensors">The listed tensors, in checkpoint order.</param>
public sealed record CheckpointSummary(string Path, CheckpointFormat Format, long ParameterCount, long ByteCount, IReadOnlyList<TensorSummary> Tensors)
{
    /// <summary>Lists <paramref name="store"/>'s tensors; with statistics, reads them one at a time (a few in parallel).</summary>
    /// <param name="store">An open checkpoint.</param>
    /// <param name="options">Filter and statistics choices.</param>
    /// <param name="progress">Receives the number of bytes scanned so far.</param>
    /// <param name="cancellationToken">Stops the scan between tensors.</param>
    public static CheckpointSummary Create(TensorStore store, CheckpointSummaryOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new CheckpointSummaryOptions();
        var selected = store.Tensors.Where(t => options.Filter?.IsMatch(t.Name) ?? true).ToArray();
        var stats = new TensorStatistics?[selected.Length];
        if (options.WithStatistics)
        {
            // Large tensors one at a time, each split across the threads (one mapping shared by all cores, a resident
            // set of one tensor); small tensors several at once, where per-tensor overhead dominates.
            const long LargeElements = 1 << 20;
            int threads = Math.Max(1, options.MaxParallelism);
            long scanned = 0;
            void Scan(int i, int parallelism)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var buffer = store.Read(selected[i].Name);
                stats[i] = TensorStatistics.Compute(buffer, parallelism);
                progress?.Report(Interlocked.Add(ref scanned, selected[i].ByteCount));
            }
            for (int i = 0; i < selected.Length; i++)
                if (selected[i].ElementCount >= LargeElements) Scan(i, threads);
            var small = Enumerable.Range(0, selected.Length).Where(i => selected[i].ElementCount < LargeElements).ToArray();
            Parallel.ForEach(small, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken }, i => Scan(i, 1));
        }
        var tensors = selected.Select((t, i) => new TensorSummary(t, stats[i])).ToArray();
        return new CheckpointSummary(store.Path, store.Format,
            selected.Sum(t => t.ElementCount), selected.Sum(t => t.ByteCount), tensors);
    }
}
