using System.Text.RegularExpressions;

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
            long scanned = 0;
            Parallel.For(0, selected.Length,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelism), CancellationToken = cancellationToken },
                i =>
                {
                    using var buffer = store.Read(selected[i].Name);
                    stats[i] = TensorStatistics.Compute(buffer);
                    progress?.Report(Interlocked.Add(ref scanned, selected[i].ByteCount));
                });
        }
        var tensors = selected.Select((t, i) => new TensorSummary(t, stats[i])).ToArray();
        return new CheckpointSummary(store.Path, store.Format,
            selected.Sum(t => t.ElementCount), selected.Sum(t => t.ByteCount), tensors);
    }
}
