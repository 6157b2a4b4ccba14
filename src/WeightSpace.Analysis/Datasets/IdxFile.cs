using System.Buffers.Binary;

namespace WeightSpace.Analysis.Datasets;

/// <summary>Reads IDX files (the MNIST format: big-endian header, unsigned bytes), plain or gzipped.</summary>
/// <remarks>Format: two zero bytes, a type byte (only 0x08, unsigned byte, is accepted), a rank byte, then one
/// big-endian u32 per dimension, then the data in C order. Images are magic 0x00000803, labels 0x00000801.
/// See <see href="http://yann.lecun.com/exdb/mnist/"/>.</remarks>
internal static class IdxFile
{
    public static (Shape Shape, byte[] Data) Read(string path, int expectedRank, DatasetLoadOptions options)
    {
        using var stream = DataFile.Open(path, out bool compressed);
        Span<byte> head = stackalloc byte[4];
        DataFile.ReadExactly(stream, head, path, "the 4-byte IDX magic");
        if (head[0] != 0 || head[1] != 0)
            throw new InvalidDatasetException(path, $"not an IDX file: magic 0x{BinaryPrimitives.ReadUInt32BigEndian(head):X8} does not start with two zero bytes");
        if (head[2] != 0x08)
            throw new InvalidDatasetException(path, $"IDX element type 0x{head[2]:X2} is not supported; only 0x08 (unsigned byte) is");
        int rank = head[3];
        if (rank != expectedRank)
            throw new InvalidDatasetException(path, $"IDX magic 0x{BinaryPrimitives.ReadUInt32BigEndian(head):X8} declares {rank} dimensions; expected 0x0000080{expectedRank}");
        if (rank > options.MaxRank)
            throw new InvalidDatasetException(path, $"{rank} dimensions exceed the limit of {options.MaxRank}");

        Span<byte> dimBytes = stackalloc byte[4 * rank];
        DataFile.ReadExactly(stream, dimBytes, path, $"{rank} IDX dimensions");
        var dims = new long[rank];
        Int128 product = 1;   // up to 255 u32 factors: no fixed-width integer holds every product, so cap while multiplying
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.Slice(4 * i, 4));
            product = Int128.Min(product * dims[i], (Int128)long.MaxValue);
        }
        long count = (long)product;
        if (count > options.MaxElementCount)
            throw new InvalidDatasetException(path, $"IDX dimensions [{string.Join(", ", dims)}] declare {count} elements, over the limit of {options.MaxElementCount}");
        long headerBytes = 4 + 4L * rank;
        if (!compressed && stream.Length - headerBytes != count)
            throw new InvalidDatasetException(path, $"IDX dimensions [{string.Join(", ", dims)}] need {count} data bytes but the file has {stream.Length - headerBytes}");

        var data = GC.AllocateUninitializedArray<byte>(checked((int)count));
        DataFile.ReadExactly(stream, data, path, $"IDX data [{string.Join(", ", dims)}]");
        DataFile.ExpectEnd(stream, path);
        return (new Shape(dims), data);
    }
}
