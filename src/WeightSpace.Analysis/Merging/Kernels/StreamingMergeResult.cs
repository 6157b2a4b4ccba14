namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>What one run of the streaming kernel did, returned by <see cref="StreamingTaskArithmetic"/>'s <c>Merge</c>
/// (the kernel itself holds only its configuration, so concurrent merges cannot overwrite each other's results).</summary>
/// <param name="BandMisses">Models whose sampled threshold band missed (or overflowed): their threshold came from the exact
/// histogram fallback. Slower, never less exact.</param>
internal readonly record struct StreamingMergeResult(int BandMisses);
