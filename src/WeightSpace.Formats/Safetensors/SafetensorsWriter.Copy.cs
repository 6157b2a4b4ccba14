using System.Buffers;

namespace WeightSpace.Formats.Safetensors;

public sealed partial class SafetensorsWriter
{
    private const int CopyChunkBytes = 1 << 22;

    /// <summary>Streams every tensor of <paramref name="source"/> (any format) into safetensors, one chunk of one
    /// tensor at a time: memory stays at a few MiB whatever the model size.</summary>
    /// <param name="source">The tensors to copy, in their <see cref="TensorStore.Tensors"/> order (which sets the shard
    /// assignment; the layout inside each file follows <see cref="SafetensorsWriter"/>).</param>
    /// <param name="path">Output file, or output directory when <see cref="SafetensorsWriteOptions.ShardSizeBytes"/> is set.
    /// It may be the source file itself: the source stays mapped and the new file replaces it only at the end.</param>
    /// <param name="options">Sharding and metadata; without <see cref="SafetensorsWriteOptions.Metadata"/> the
    /// source's <see cref="TensorStore.Metadata"/> is kept.</param>
    /// <param name="floatDType">F32, F16, BF16 or F64 to convert every floating-point tensor (F64, F32, F16, BF16,
    /// F8) to, correctly rounded to nearest even; integer and bool tensors are copied unchanged.
    /// <see langword="null"/> copies all bytes unchanged.</param>
    /// <param name="bytesWritten">Receives the running total of tensor bytes written.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="floatDType"/> is not F32, F16, BF16 or F64.</exception>
    /// <exception cref="InvalidCheckpointException">The source cannot be read; nothing is written to <paramref name="path"/>.</exception>
    public static void Copy(TensorStore source, string path, SafetensorsWriteOptions? options = null, DType? floatDType = null, IProgress<long>? bytesWritten = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (floatDType is { } target && !FloatRecoder.IsWritable(target))
            throw new ArgumentOutOfRangeException(nameof(floatDType), target, "Floating-point tensors can be converted to F32, F16, BF16 or F64 only.");
        options ??= new SafetensorsWriteOptions();
        if (options.Metadata is null && source.Metadata.Count > 0) options = options with { Metadata = source.Metadata };

        var plan = source.Tensors.Select(t => OutputInfo(t, floatDType)).ToList();
        using var writer = Create(path, plan, options);
        long total = 0;
        byte[] scratch = ArrayPool<byte>.Shared.Rent(CopyChunkBytes);
        try
        {
            foreach (var output in plan)
            {
                using var buffer = source.Read(output.Name);
                var input = buffer.Info;
                if (input.DType.IsBlockQuantized())
                {
                    total = CopyDequantized(buffer, output, writer, scratch, total, bytesWritten);
                    continue;
                }
                int inSize = input.DType.SizeInBytes(), outSize = output.DType.SizeInBytes();
                // Chunks hold whole elements on both sides; the larger element size sets the count.
                total = WriteChunked(writer, output, input.ElementCount, CopyChunkBytes / Math.Max(inSize, outSize), total, bytesWritten, (element, n) =>
                {
                    var bytes = buffer.GetBytes(element * inSize, n * inSize);
                    if (input.DType == output.DType) return bytes;
                    var converted = scratch.AsSpan(0, n * outSize);
                    FloatRecoder.Recode(bytes, input.DType, converted, output.DType);
                    return converted;
                });
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        writer.Commit();
    }

    // Block-quantised tensors (GGUF) have no safetensors dtype: they are dequantised, to F32 unless asked otherwise.
    private static TensorInfo OutputInfo(TensorInfo input, DType? floatDType) =>
        floatDType is { } target && input.DType.IsFloatingPoint() ? input with { DType = target }
        : input.DType.IsBlockQuantized() ? input with { DType = DType.F32 }
        : input;

    // Dequantises a chunk of whole blocks at a time into float32, then encodes the output dtype.
    private static long CopyDequantized(TensorBuffer buffer, TensorInfo output, SafetensorsWriter writer, byte[] scratch, long total, IProgress<long>? bytesWritten)
    {
        int outSize = output.DType.SizeInBytes();
        float[] floats = ArrayPool<float>.Shared.Rent(CopyChunkBytes / sizeof(float));
        try
        {
            long chunkElements = CopyChunkBytes / Math.Max(sizeof(float), outSize) / 256 * 256;   // whole blocks of any ggml type, fits both buffers
            return WriteChunked(writer, output, buffer.Info.ElementCount, chunkElements, total, bytesWritten, (element, n) =>
            {
                var values = floats.AsSpan(0, n);
                buffer.CopyTo(element, values);
                var converted = scratch.AsSpan(0, n * outSize);
                DTypeConversion.FromSingle(values, output.DType, converted);
                return converted;
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(floats);
        }
    }

    /// <summary>The bytes of <paramref name="count"/> output elements from element <paramref name="element"/> on.</summary>
    private delegate ReadOnlySpan<byte> ChunkEncoder(long element, int count);

    // Writes one tensor a chunk at a time and reports the running byte total; an empty tensor is still written once.
    private static long WriteChunked(SafetensorsWriter writer, TensorInfo output, long elementCount, long chunkElements, long total, IProgress<long>? bytesWritten, ChunkEncoder encode)
    {
        int outSize = output.DType.SizeInBytes();
        for (long element = 0; element < elementCount; element += chunkElements)
        {
            int n = (int)Math.Min(chunkElements, elementCount - element);
            writer.Write(output.Name, element * outSize, encode(element, n));
            total += (long)n * outSize;
            bytesWritten?.Report(total);
        }
        if (elementCount == 0) writer.Write(output.Name, ReadOnlySpan<byte>.Empty);
        return total;
    }
}
