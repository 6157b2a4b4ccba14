namespace WeightSpace.Analysis.Spectra;

/// <summary>One tensor's analysis as stored by <see cref="SpectrumCache"/>: complete and deterministic, so that runs
/// split across processes or jobs (each writing its own records) combine into the report a single run gives.</summary>
/// <param name="FormatVersion">Version of this record's layout (<see cref="SpectrumCache.FormatVersion"/>).</param>
/// <param name="Key">The cache key: SHA-256 (hex) of the file identity, tensor, dtype, shape and options.</param>
/// <param name="Checkpoint">The checkpoint path as given to the analysis.</param>
/// <param name="FileIdentity">The checkpoint's identity: full path, size and last-write time (UTC ticks) of each file.</param>
/// <param name="Tensor">Tensor name.</param>
/// <param name="TensorIndex">Position of the tensor in the checkpoint, so records sort back into checkpoint order.</param>
/// <param name="DType">Stored element type.</param>
/// <param name="Shape">Stored shape.</param>
/// <param name="Options">The result-relevant options, as canonical JSON (threads, parallelism and cache excluded).</param>
/// <param name="Layers">The tensor's entries in the report: one, or one per unpooled WeightWatcher conv slice.</param>
public sealed record LayerSpectrumRecord(
    int FormatVersion, string Key, string Checkpoint, string FileIdentity, string Tensor, int TensorIndex, string DType,
    IReadOnlyList<long> Shape, string Options, IReadOnlyList<LayerSpectrum> Layers);
