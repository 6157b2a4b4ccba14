using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using WeightSpace.Formats.Safetensors;
using WeightSpace.IO;

namespace WeightSpace.Tests.Core;

/// <summary>A safetensors file whose first tensor is an F32 [131072, 4096]: 2^29 elements (fits an int) but exactly
/// 2^31 bytes (does not), the shape class of an F32 Llama-3-70B <c>embed_tokens</c>. The file is sparse: only the header
/// and a few elements at known far offsets are written.</summary>
public sealed class LargeTensorFile : IDisposable
{
    public const long Rows = 131072, Columns = 4096;
    public const long BigBytes = Rows * Columns * 4;
    public const long MiddleElement = (1L << 28) + 3;     // byte offset 2^30 + 12
    public static readonly float[] Tail = [1f, 2f, 3f, 4f];

    private readonly SparseFile _file;

    public LargeTensorFile()
    {
        string header = $"{{\"big\":{{\"dtype\":\"F32\",\"shape\":[{Rows},{Columns}],\"data_offsets\":[0,{BigBytes}]}}," +
                        $"\"tail\":{{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[{BigBytes},{BigBytes + 16}]}}}}";
        header = header.PadRight((header.Length + 7) / 8 * 8);
        byte[] json = Encoding.UTF8.GetBytes(header);
        var prefix = new byte[8 + json.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        json.CopyTo(prefix, 8);
        DataStart = prefix.Length;
        _file = new SparseFile(DataStart + BigBytes + 16,
            (0, prefix),
            (DataStart, Float(1.5f)),
            (DataStart + MiddleElement * 4, Float(3f)),
            (DataStart + BigBytes - 4, Float(-2.25f)),
            (DataStart + BigBytes, MemoryMarshal.AsBytes(Tail.AsSpan()).ToArray()));
    }

    /// <summary>File offset of the first tensor's first byte.</summary>
    public long DataStart { get; }

    public string Path => _file.Path;

    private static byte[] Float(float value) => BitConverter.GetBytes(value);

    public void Dispose() => _file.Dispose();
}

public sealed class LargeTensorTests(LargeTensorFile file) : IClassFixture<LargeTensorFile>
{
    private static readonly TensorInfo Big = new("big", DType.F32, new Shape(LargeTensorFile.Rows, LargeTensorFile.Columns));

    [Fact]
    public void ByteCount_OfA2GiBTensor_IsExact()
    {
        Assert.True(Big.ElementCount <= int.MaxValue);
        Assert.Equal(1L << 31, Big.ByteCount);
    }

    [Fact]
    public void TryGetMappedBytes_TensorOf2GiBWithFewerThan2Pow31Elements_ReturnsFalseInsteadOfOverflowing()
    {
        // The old check looked at the element count (2^29, fine) and then cast the byte count (2^31) with checked():
        // OverflowException, which merge --method slerp reported as an internal error.
        // Without prefaulting: faulting in 2 GiB of holes would take seconds and touch 2 GiB of page cache.
        using var mapped = new MappedFile(file.Path, prefaultViews: false);
        using var buffer = TensorBuffer.FromMappedFile(Big, mapped, file.DataStart);
        Assert.False(buffer.TryGetMappedBytes(out var bytes));
        Assert.True(bytes.IsEmpty);
        // The fallback callers take (chunked conversion) reads the elements at both ends and in the middle.
        var one = new float[1];
        buffer.CopyTo(0, one);
        Assert.Equal(1.5f, one[0]);
        buffer.CopyTo(LargeTensorFile.MiddleElement, one);
        Assert.Equal(3f, one[0]);
        buffer.CopyTo(Big.ElementCount - 1, one);
        Assert.Equal(-2.25f, one[0]);
        Assert.Equal(BitConverter.GetBytes(-2.25f), buffer.GetBytes(Big.ByteCount - 4, 4).ToArray());
        var e = Assert.Throws<InvalidOperationException>(() => buffer.Bytes.Length);
        Assert.Contains("'big'", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.GetBytes(Big.ByteCount - 3, 4).Length);
    }

    [Fact]
    public void Store_ReadsTheTensorsOnBothSidesOfThe2GiBBoundary()
    {
        using var store = SafetensorsReader.Open(file.Path);
        Assert.Equal(Big.Shape, store.GetInfo("big").Shape);
        Assert.Equal((1L << 29) + 4, store.ParameterCount);
        Assert.Equal((1L << 31) + 16, store.ByteCount);
        // "tail" starts 2 GiB into the data: its offset must survive as a long all the way to the view.
        using (var tail = store.Read("tail"))
        {
            Assert.True(tail.TryGetMappedBytes(out var bytes));
            Assert.Equal(LargeTensorFile.Tail, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        }
        Assert.Equal(LargeTensorFile.Tail, store.ReadSingle("tail"));
    }
}
