using System.IO.MemoryMappedFiles;

namespace WeightSpace.IO;

/// <summary>A whole file mapped read-only into memory, with one pointer acquired for its lifetime.</summary>
/// <remarks>Readers slice tensors out of it without copying. Empty files are not mapped (mmap refuses length 0);
/// they expose an empty range.</remarks>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private int _disposed;

    public MappedFile(string path)
    {
        Path = path;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        Length = stream.Length;
        if (Length == 0) return;
        _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
    }

    public string Path { get; }

    /// <summary>File length in bytes.</summary>
    public long Length { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Pointer to byte <paramref name="offset"/>; the caller has checked the range against <see cref="Length"/>.</summary>
    public byte* PointerAt(long offset)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return _pointer + offset;
    }

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>, after a bounds check.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} is outside {Path} ({Length} bytes).");
        if (length == 0) return ReadOnlySpan<byte>.Empty;
        return new ReadOnlySpan<byte>(PointerAt(offset), length);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
        _pointer = null;
    }
}
