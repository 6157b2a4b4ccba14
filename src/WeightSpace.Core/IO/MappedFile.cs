using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace WeightSpace.IO;

/// <summary>A file mapped read-only into memory. Tensors are read through short-lived views
/// (<see cref="CreateView"/>), so the pages a scan touches are unmapped when each tensor is done and the process's
/// resident set stays near one tensor, not the whole file. <see cref="Span"/> and <see cref="PointerAt"/> use one
/// whole-file view made on first use, meant for headers and other small structures.</summary>
/// <remarks>Empty files are not mapped (mmap refuses length 0); they expose an empty range.</remarks>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly Lock _gate = new();
    private readonly bool _prefaultViews;
    private MappedView? _whole;
    private int _disposed;

    /// <summary>Maps <paramref name="path"/> read-only.</summary>
    /// <param name="path">The file.</param>
    /// <param name="prefaultViews">Fault in every page of a view of 1 MiB or more when it is made (right for tensors
    /// read whole); false for callers that touch a few pages of large views, where faulting gigabytes in would dominate.</param>
    public MappedFile(string path, bool prefaultViews = true)
    {
        Path = path;
        _prefaultViews = prefaultViews;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        Length = stream.Length;
        if (Length == 0) return;
        _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
    }

    public string Path { get; }

    /// <summary>File length in bytes.</summary>
    public long Length { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Maps <paramref name="length"/> bytes at <paramref name="offset"/>; dispose the view to unmap them.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the file.</exception>
    public MappedView CreateView(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} is outside {Path} ({Length} bytes).");
        return length == 0 ? MappedView.Empty : new MappedView(_map!, offset, length, _prefaultViews);
    }

    /// <summary>Pointer to byte <paramref name="offset"/> of the whole-file view; the caller has checked the range.</summary>
    public byte* PointerAt(long offset)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Length == 0) return null;
        if (_whole is null)
            lock (_gate) _whole ??= new MappedView(_map!, 0, Length);
        return _whole.Pointer + offset;
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
        _whole?.Dispose();
        _map?.Dispose();
    }
}

/// <summary>One mapped range of a <see cref="MappedFile"/>; unmapped on dispose.</summary>
internal sealed unsafe class MappedView : IDisposable
{
    public static readonly MappedView Empty = new();
    private readonly MemoryMappedViewAccessor? _view;
    private int _disposed;

    private MappedView() { }

    public MappedView(MemoryMappedFile map, long offset, long length, bool prefault = true)
    {
        _view = map.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        Pointer = p + _view.PointerOffset;
        Length = length;
        if (prefault && length >= PopulateThresholdBytes) Populate(p, length + _view.PointerOffset);
    }

    // Tensors are read whole, so fault their pages in with one call instead of one minor fault per 4 KiB page: on a
    // warm page cache the per-page faults otherwise cost ~40% of a scan's time (docs/benchmarks.md).
    private const long PopulateThresholdBytes = 1 << 20;
    private const int MADV_POPULATE_READ = 22;   // Linux ≥ 5.14; older kernels answer EINVAL and we read as before.

    private static void Populate(byte* pageAlignedStart, long length)
    {
        if (OperatingSystem.IsLinux()) _ = Madvise((nint)pageAlignedStart, (nuint)length, MADV_POPULATE_READ);
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>Pointer to the first byte of the range.</summary>
    public byte* Pointer { get; private set; }

    public long Length { get; }

    public void Dispose()
    {
        if (_view is null || Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
    }
}
