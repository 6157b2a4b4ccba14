namespace WeightSpace.Formats.PyTorch;

/// <summary>Copies a strided view of a storage into a C-contiguous buffer.</summary>
internal static unsafe class StridedGather
{
    /// <summary>Copies the view (<paramref name="shape"/>, <paramref name="strides"/> in elements, starting at element
    /// <paramref name="offset"/> of <paramref name="storage"/>) to <paramref name="destination"/> in C order. The caller
    /// has checked that every index the view can reach lies inside the storage.</summary>
    public static void Copy(byte* storage, int itemSize, long offset, long[] shape, long[] strides, Span<byte> destination)
    {
        switch (itemSize)
        {
            case 1: Copy<byte>(storage, offset, shape, strides, destination); break;
            case 2: Copy<short>(storage, offset, shape, strides, destination); break;
            case 4: Copy<int>(storage, offset, shape, strides, destination); break;
            case 8: Copy<long>(storage, offset, shape, strides, destination); break;
            default: throw new ArgumentOutOfRangeException(nameof(itemSize), itemSize, "Element size must be 1, 2, 4 or 8.");
        }
    }

    private static void Copy<T>(byte* storage, long offset, long[] shape, long[] strides, Span<byte> destination) where T : unmanaged
    {
        int rank = shape.Length;
        T* source = (T*)storage;
        fixed (byte* d = destination)
        {
            T* dst = (T*)d;
            if (rank == 0)
            {
                *dst = source[offset];
                return;
            }
            long inner = shape[rank - 1], innerStride = strides[rank - 1];
            long rows = 1;
            for (int i = 0; i < rank - 1; i++) rows *= shape[i];
            if (rows == 0 || inner == 0) return;

            // Odometer over the outer dimensions; the innermost row is copied in one block when its stride is 1.
            Span<long> index = stackalloc long[Math.Max(rank - 1, 1)];
            long rowStart = offset;
            for (long r = 0; r < rows; r++)
            {
                if (innerStride == 1)
                {
                    Buffer.MemoryCopy(source + rowStart, dst, inner * sizeof(T), inner * sizeof(T));
                }
                else
                {
                    long at = rowStart;
                    for (long j = 0; j < inner; j++, at += innerStride) dst[j] = source[at];
                }
                dst += inner;
                for (int k = rank - 2; k >= 0; k--)
                {
                    rowStart += strides[k];
                    if (++index[k] < shape[k]) break;
                    rowStart -= strides[k] * shape[k];
                    index[k] = 0;
                }
            }
        }
    }
}
