using System.Buffers;
using WeightSpace.IO;

namespace WeightSpace;

/// <summary>The bytes of one tensor, C-contiguous and little-endian, either a view of a memory-mapped file or a
/// pooled copy (for views that had to be gathered). Dispose it when done; it does not outlive its store.</summary>
public sealed unsafe class TensorBuffer : IDisposable
{
    private readonly MappedView? _view;
    private byte[]? _pooled;
    private readonly ReadOnlyMemory<byte> _memory;
    private bool _disposed;

    private TensorBuffer(TensorInfo info, MappedView? view, byte[]? pooled, ReadOnlyMemory<byte> memory)
    {
        Info = info;
        _view = view;
        _pooled = pooled;
        _memory = memory;
    }

    /// <summary>Wraps bytes the caller owns; <paramref name="bytes"/> must hold exactly <see cref="TensorInfo.ByteCount"/> bytes.</summary>
    /// <exception cref="ArgumentException">The length does not match the tensor's dtype and shape.</exception>
    public static TensorBuffer FromBytes(TensorInfo info, ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length != info.ByteCount)
            throw new ArgumentException($"Tensor '{info.Name}' needs {info.ByteCount} bytes; {bytes.Length} given.", nameof(bytes));
        return new TensorBuffer(info, null, null, bytes);
    }

    /// <summary>A view of <see cref="TensorInfo.ByteCount"/> bytes at <paramref name="offset"/> of a mapped file, range
    /// already validated. The bytes are mapped for this buffer alone and unmapped when it is disposed, so a scan over a
    /// large model keeps about one tensor resident.</summary>
    internal static TensorBuffer FromMappedFile(TensorInfo info, MappedFile file, long offset)
    {
        if (offset < 0 || offset > file.Length - info.ByteCount)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{file.Path}: tensor '{info.Name}' range {offset}+{info.ByteCount} is outside the file.");
        return new TensorBuffer(info, file.CreateView(offset, info.ByteCount), null, default);
    }

    /// <summary>Takes ownership of an array rented from <see cref="ArrayPool{T}.Shared"/>; returned (cleared) on dispose.</summary>
    internal static TensorBuffer FromPooled(TensorInfo info, byte[] rented)
    {
        if (rented.Length < info.ByteCount) throw new ArgumentException("Rented array is too short.", nameof(rented));
        return new TensorBuffer(info, null, rented, rented.AsMemory(0, (int)info.ByteCount));
    }

    /// <summary>What the tensor is.</summary>
    public TensorInfo Info { get; }

    /// <summary>Length of the data in bytes.</summary>
    public long ByteCount => Info.ByteCount;

    /// <summary>All bytes as one span. Tensors of 2 GiB or more cannot be one span: use <see cref="GetBytes"/> or <see cref="CopyTo(long, Span{float})"/>.</summary>
    /// <exception cref="InvalidOperationException">The tensor has 2 GiB or more.</exception>
    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            if (ByteCount > int.MaxValue)
                throw new InvalidOperationException($"Tensor '{Info.Name}' has {ByteCount} bytes, too many for one span; read it in chunks with GetBytes.");
            return GetBytes(0, (int)ByteCount);
        }
    }

    /// <summary>A span over <paramref name="length"/> bytes starting at <paramref name="byteOffset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor.</exception>
    public ReadOnlySpan<byte> GetBytes(long byteOffset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (byteOffset < 0 || length < 0 || byteOffset > ByteCount - length)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"Range {byteOffset}+{length} is outside tensor '{Info.Name}' ({ByteCount} bytes).");
        if (length == 0) return ReadOnlySpan<byte>.Empty;
        if (_view is not null) return new ReadOnlySpan<byte>(_view.Pointer + byteOffset, length);
        return _memory.Span.Slice((int)byteOffset, length);
    }

    /// <summary>The stored bytes without a copy: true when the tensor is a view of a memory-mapped file, whose memory does
    /// not move until this buffer is disposed (so a pointer taken from the span stays valid that long). False as well for
    /// 2 GiB or more, which one span cannot hold (an F32 tensor gets there with only 2^29 elements): read those in chunks.</summary>
    /// <param name="bytes">All <see cref="ByteCount"/> bytes (little-endian <see cref="TensorInfo.DType"/>), read only; empty when false is returned.</param>
    /// <remarks>Always false for block-quantised dtypes, whose bytes are not elements.</remarks>
    public bool TryGetMappedBytes(out ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        bytes = default;
        if (Info.DType.IsBlockQuantized()) return false;   // blocks, not elements: callers decode them with CopyTo
        if (_view is null || ByteCount > int.MaxValue) return false;
        bytes = new ReadOnlySpan<byte>(_view.Pointer, (int)ByteCount);
        return true;
    }

    /// <summary>Converts elements <c>[elementOffset, elementOffset + destination.Length)</c> to float32.</summary>
    public void CopyTo(long elementOffset, Span<float> destination)
    {
        CheckElementRange(elementOffset, destination.Length);
        if (Info.DType.IsBlockQuantized())
        {
            DequantizeRange(elementOffset, destination);
            return;
        }
        int size = Info.DType.SizeInBytes();
        DTypeConversion.ToSingle(GetBytes(elementOffset * size, checked(destination.Length * size)), Info.DType, destination);
    }

    /// <summary>Converts elements <c>[elementOffset, elementOffset + destination.Length)</c> to float64.</summary>
    public void CopyTo(long elementOffset, Span<double> destination)
    {
        CheckElementRange(elementOffset, destination.Length);
        if (Info.DType.IsBlockQuantized())
        {
            // Dequantised values are float32; widen a stack chunk at a time.
            Span<float> chunk = stackalloc float[1024];
            for (int done = 0; done < destination.Length; done += chunk.Length)
            {
                int n = Math.Min(chunk.Length, destination.Length - done);
                DequantizeRange(elementOffset + done, chunk[..n]);
                System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<float, double>(chunk[..n], destination.Slice(done, n));
            }
            return;
        }
        int size = Info.DType.SizeInBytes();
        DTypeConversion.ToDouble(GetBytes(elementOffset * size, checked(destination.Length * size)), Info.DType, destination);
    }

    /// <summary>Converts the whole tensor to float32; <paramref name="destination"/> must hold <see cref="TensorInfo.ElementCount"/> values.</summary>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length < Info.ElementCount) throw new ArgumentException($"Destination holds {destination.Length}; tensor '{Info.Name}' has {Info.ElementCount} elements.", nameof(destination));
        const int chunk = 1 << 20;
        for (long i = 0; i < Info.ElementCount; i += chunk)
        {
            int n = (int)Math.Min(chunk, Info.ElementCount - i);
            CopyTo(i, destination.Slice((int)i, n));
        }
    }

    /// <summary>Converts the whole tensor to float64; <paramref name="destination"/> must hold <see cref="TensorInfo.ElementCount"/> values.</summary>
    public void CopyTo(Span<double> destination)
    {
        if (destination.Length < Info.ElementCount) throw new ArgumentException($"Destination holds {destination.Length}; tensor '{Info.Name}' has {Info.ElementCount} elements.", nameof(destination));
        const int chunk = 1 << 20;
        for (long i = 0; i < Info.ElementCount; i += chunk)
        {
            int n = (int)Math.Min(chunk, Info.ElementCount - i);
            CopyTo(i, destination.Slice((int)i, n));
        }
    }

    /// <summary>A new float32 array with every element.</summary>
    public float[] ToSingleArray()
    {
        var result = GC.AllocateUninitializedArray<float>(checked((int)Info.ElementCount));
        CopyTo(result);
        return result;
    }

    /// <summary>A new float64 array with every element.</summary>
    public double[] ToDoubleArray()
    {
        var result = GC.AllocateUninitializedArray<double>(checked((int)Info.ElementCount));
        CopyTo(result);
        return result;
    }

    // Block-quantised data decodes whole blocks: aligned runs go straight into the destination (a bounded number of
    // blocks per call, so a tensor over 2 GiB streams), a range starting or ending inside a block goes through one
    // block of scratch.
    private void DequantizeRange(long elementOffset, Span<float> destination)
    {
        const int maxBlocksPerCall = 1 << 16;
        var dtype = Info.DType;
        int blockElements = dtype.BlockElementCount(), blockBytes = dtype.BytesPerBlock();
        Span<float> scratch = stackalloc float[256];
        int done = 0;
        while (done < destination.Length)
        {
            long element = elementOffset + done;
            long block = element / blockElements;
            int within = (int)(element % blockElements), remaining = destination.Length - done;
            if (within == 0 && remaining >= blockElements)
            {
                int blocks = Math.Min(remaining / blockElements, maxBlocksPerCall);
                DTypeConversion.ToSingle(GetBytes(block * blockBytes, blocks * blockBytes), dtype, destination.Slice(done, blocks * blockElements));
                done += blocks * blockElements;
            }
            else
            {
                DTypeConversion.ToSingle(GetBytes(block * blockBytes, blockBytes), dtype, scratch[..blockElements]);
                int n = Math.Min(blockElements - within, remaining);
                scratch.Slice(within, n).CopyTo(destination.Slice(done, n));
                done += n;
            }
        }
    }

    private void CheckElementRange(long offset, int count)
    {
        if (offset < 0 || offset > Info.ElementCount - count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Elements {offset}+{count} are outside tensor '{Info.Name}' ({Info.ElementCount} elements).");
    }

    /// <summary>Unmaps a mapped view, or returns a pooled copy (cleared) to the pool.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view?.Dispose();
        var pooled = Interlocked.Exchange(ref _pooled, null);
        if (pooled is not null) ArrayPool<byte>.Shared.Return(pooled, clearArray: true);
    }
}
