using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Analysis.Merging.Output;

/// <summary>An <see cref="ITensorSink"/> that writes a merge's outputs as safetensors (one file, or shards plus
/// <c>model.safetensors.index.json</c>) through <see cref="SafetensorsWriter"/>.</summary>
/// <remarks>Nothing appears at the destination until <see cref="Commit"/>; disposing without it deletes every temp file.
/// Tensors may arrive in any order: the writer places each at the offset it planned from the outputs list.</remarks>
public sealed class SafetensorsTensorSink : IPartialTensorSink, IDisposable
{
    private readonly SafetensorsWriter _writer;

    /// <summary>Plans the file(s) for <paramref name="outputs"/> and writes their headers to temp files.</summary>
    /// <param name="path">The <c>.safetensors</c> file, or the directory when <see cref="SafetensorsWriteOptions.ShardSizeBytes"/> is set.</param>
    /// <param name="outputs">Every output tensor, usually <see cref="Planning.MergePlan.Outputs"/>.</param>
    /// <param name="options">Sharding and <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentException">An output name is empty or repeated.</exception>
    /// <exception cref="IOException">A temp file cannot be created.</exception>
    public SafetensorsTensorSink(string path, IReadOnlyList<TensorInfo> outputs, SafetensorsWriteOptions? options = null) =>
        _writer = SafetensorsWriter.Create(path, outputs, options);

    /// <inheritdoc/>
    public void Write(string name, ReadOnlySpan<float> values) => _writer.Write(name, values);

    /// <inheritdoc/>
    public void WritePart(string name, long elementOffset, ReadOnlySpan<float> values) => _writer.Write(name, elementOffset, values);

    /// <inheritdoc/>
    public void WriteBytes(string name, ReadOnlySpan<byte> values) => _writer.Write(name, values);

    /// <summary>Checks every output was written, flushes and renames the temp files into place.</summary>
    /// <exception cref="InvalidOperationException">An output was not (fully) written; the message names it.</exception>
    /// <exception cref="IOException">Flushing or renaming failed.</exception>
    public void Commit() => _writer.Commit();

    /// <summary>Deletes the temp files unless <see cref="Commit"/> succeeded.</summary>
    public void Dispose() => _writer.Dispose();
}
