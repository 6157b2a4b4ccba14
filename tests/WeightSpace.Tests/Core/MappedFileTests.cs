using WeightSpace.IO;

namespace WeightSpace.Tests.Core;

public sealed unsafe class MappedFileTests
{
    [Fact]
    public void Span_AndView_ReadTheFileBytes()
    {
        string path = Path.Combine(SharedData.TempFolder(), "f.bin");
        File.WriteAllBytes(path, [10, 11, 12, 13, 14, 15]);
        using var file = new MappedFile(path);
        Assert.Equal(6, file.Length);
        Assert.Equal(path, file.Path);
        Assert.Equal(new byte[] { 12, 13, 14 }, file.Span(2, 3).ToArray());
        using var view = file.CreateView(4, 2);
        Assert.Equal(2, view.Length);
        Assert.Equal(14, view.Pointer[0]);
        Assert.Equal(15, view.Pointer[1]);
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, 7)]
    [InlineData(6, 1)]
    [InlineData(5, -1)]
    [InlineData(long.MaxValue, 2)]   // offset + length overflows: the check must not add them
    public void OutOfRange_ThrowsNamingTheFile(long offset, long length)
    {
        string path = Path.Combine(SharedData.TempFolder(), "f.bin");
        File.WriteAllBytes(path, new byte[6]);
        using var file = new MappedFile(path);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => file.CreateView(offset, length));
        Assert.Contains(path, e.Message);
        if (length <= int.MaxValue && length >= int.MinValue)
            Assert.Throws<ArgumentOutOfRangeException>(() => file.Span(offset, (int)length));
    }

    [Fact]
    public void EmptyFile_IsNotMappedAndHasEmptyRanges()
    {
        string path = Path.Combine(SharedData.TempFolder(), "empty.bin");
        File.WriteAllBytes(path, []);
        using var file = new MappedFile(path);
        Assert.Equal(0, file.Length);
        Assert.True(file.Span(0, 0).IsEmpty);
        Assert.Same(MappedView.Empty, file.CreateView(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CreateView(0, 1));
    }

    [Fact]
    public void AfterDispose_ViewsAreRefused()
    {
        string path = Path.Combine(SharedData.TempFolder(), "f.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        var file = new MappedFile(path);
        file.Dispose();
        file.Dispose();   // idempotent
        Assert.True(file.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => file.CreateView(0, 1));
        Assert.Throws<ObjectDisposedException>(() => file.Span(0, 1).Length);
    }

    [Fact]
    public void ViewsBeyond4GiB_ReadTheBytesWrittenThere()
    {
        // A 5 GiB sparse file: offsets past 2^31 and 2^32 must not be truncated anywhere on the way to the pointer.
        long far = (1L << 32) + 12_345, mid = (1L << 31) + 7;
        using var sparse = new SparseFile(5L << 30, (mid, [0xAB]), (far, [1, 2, 3, 4]), ((5L << 30) - 1, [0xEE]));
        using var file = new MappedFile(sparse.Path);
        Assert.Equal(5L << 30, file.Length);
        using (var view = file.CreateView(far - 1, 6))
            Assert.Equal(new byte[] { 0, 1, 2, 3, 4, 0 }, new ReadOnlySpan<byte>(view.Pointer, 6).ToArray());
        using (var view = file.CreateView(mid, 1)) Assert.Equal(0xAB, view.Pointer[0]);
        using (var view = file.CreateView(file.Length - 1, 1)) Assert.Equal(0xEE, view.Pointer[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CreateView(file.Length - 1, 2));
    }
}
