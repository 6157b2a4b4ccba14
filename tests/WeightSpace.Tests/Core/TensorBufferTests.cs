using System.Buffers;
using System.Runtime.InteropServices;
using WeightSpace.IO;

namespace WeightSpace.Tests.Core;

public sealed class TensorBufferTests
{
    private static TensorInfo F32(string name, params long[] shape) => new(name, DType.F32, new Shape(shape));

    [Fact]
    public void FromBytes_WrongLength_ThrowsNamingTheTensor()
    {
        var e = Assert.Throws<ArgumentException>(() => TensorBuffer.FromBytes(F32("w", 2, 2), new byte[15]));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("16", e.Message);
    }

    [Fact]
    public void CopyTo_ConvertsTheRequestedElementRange()
    {
        float[] values = [1, 2, 3, 4, 5, 6];
        using var buffer = TensorBuffer.FromBytes(F32("w", 2, 3), MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        var part = new float[2];
        buffer.CopyTo(3, part);
        Assert.Equal(new float[] { 4, 5 }, part);
        var doubles = new double[3];
        buffer.CopyTo(3, doubles);
        Assert.Equal(new double[] { 4, 5, 6 }, doubles);
        Assert.Equal(values, buffer.ToSingleArray());
        Assert.Equal(values.Select(v => (double)v), buffer.ToDoubleArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyTo(5, new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyTo(-1, new float[1]));
        Assert.Throws<ArgumentException>(() => buffer.CopyTo(new float[5]));
    }

    [Fact]
    public void WholeTensorCopy_CrossesTheInternalChunkBoundary()
    {
        // More than one 2^20-element chunk, in BF16 so the conversion itself is exercised on both sides of the boundary.
        int n = (1 << 20) + 3;
        var bf16 = new ushort[n];
        for (int i = 0; i < n; i++) bf16[i] = (ushort)(0x3F80 + (i % 64));   // 1 + k/128
        var info = new TensorInfo("e", DType.BF16, new Shape(n));
        using var buffer = TensorBuffer.FromBytes(info, MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray());
        float[] all = buffer.ToSingleArray();
        for (int i = (1 << 20) - 2; i < n; i++) Assert.Equal(1f + (i % 64) / 128f, all[i]);
        Assert.Equal(1f, all[0]);
    }

    [Fact]
    public void GetBytes_ChecksTheRangeWithoutOverflow()
    {
        using var buffer = TensorBuffer.FromBytes(F32("w", 2), new byte[] { 0, 0, 128, 63, 0, 0, 0, 64 });
        Assert.Equal(new byte[] { 0, 0, 0, 64 }, buffer.GetBytes(4, 4).ToArray());
        Assert.True(buffer.GetBytes(8, 0).IsEmpty);
        Assert.Equal(8, buffer.Bytes.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.GetBytes(5, 4).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.GetBytes(long.MaxValue, 1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.GetBytes(0, -1).Length);
    }

    [Fact]
    public void TryGetMappedBytes_IsFalseForBytesInMemory()
    {
        using var buffer = TensorBuffer.FromBytes(F32("w", 1), new byte[4]);
        Assert.False(buffer.TryGetMappedBytes(out var bytes));
        Assert.True(bytes.IsEmpty);
    }

    [Fact]
    public void TryGetMappedBytes_OfAMappedTensor_IsTheFileRange()
    {
        string path = Path.Combine(SharedData.TempFolder(), "t.bin");
        File.WriteAllBytes(path, [9, 9, 0, 0, 128, 63, 0, 0, 0, 64, 9]);
        using var file = new MappedFile(path);
        using var buffer = TensorBuffer.FromMappedFile(F32("w", 2), file, 2);
        Assert.True(buffer.TryGetMappedBytes(out var bytes));
        Assert.Equal(new float[] { 1, 2 }, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorBuffer.FromMappedFile(F32("w", 3), file, 0));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TensorBuffer.FromMappedFile(F32("w", 2), file, 4));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Disposed_RefusesReadsAndReturnsThePooledArrayCleared()
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(8);
        rented.AsSpan().Fill(7);
        var buffer = TensorBuffer.FromPooled(F32("w", 2), rented);
        Assert.Equal(8, buffer.Bytes.Length);
        buffer.Dispose();
        buffer.Dispose();   // idempotent: the array goes back to the pool once
        Assert.All(rented, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => buffer.GetBytes(0, 1).Length);
        Assert.Throws<ObjectDisposedException>(() => buffer.TryGetMappedBytes(out _));
    }

    [Fact]
    public void FromPooled_ShortArray_Throws() =>
        Assert.Throws<ArgumentException>(() => TensorBuffer.FromPooled(F32("w", 4), new byte[15]));
}
