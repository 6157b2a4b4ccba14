using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace WeightSpace.Formats.Safetensors;

public sealed partial class SafetensorsWriter
{
    /// <summary>One output file, written as a sibling temp file and renamed into place on publish, so an existing
    /// file at the destination is never truncated under any mmap of it.</summary>
    private sealed class ShardFile
    {
        private readonly FileStream _stream;
        private int _done;

        private ShardFile(string finalPath, string tempPath, FileStream stream)
        {
            FinalPath = finalPath;
            TempPath = tempPath;
            _stream = stream;
        }

        public string FinalPath { get; }
        public string TempPath { get; }
        public SafeFileHandle Handle => _stream.SafeFileHandle;

        /// <summary>Asks the kernel to start writing <c>[offset, offset + length)</c> back to disk now, without waiting
        /// for it: the disk then works while later tensors are computed, and the flush in Commit has little left to do
        /// (a 2 GB output otherwise stays below the background-writeback threshold and is all written at the fsync).</summary>
        public void StartWriteback(long offset, long length)
        {
            if (!OperatingSystem.IsLinux()) return;
            bool added = false;
            try
            {
                Handle.DangerousAddRef(ref added);
                // Advisory: an error (an old kernel, a file system without it) just leaves the work to the flush.
                _ = SyncFileRange((int)Handle.DangerousGetHandle(), offset, length, SyncFileRangeWrite);
            }
            catch (ObjectDisposedException) { }
            finally
            {
                if (added) Handle.DangerousRelease();
            }
        }

        private const uint SyncFileRangeWrite = 2;

        [DllImport("libc", EntryPoint = "sync_file_range")]
        private static extern int SyncFileRange(int fd, long offset, long length, uint flags);

        public static ShardFile Create(string finalPath, long length)
        {
            string folder = Path.GetDirectoryName(finalPath)!;
            string temp = Path.Combine(folder, $".{Path.GetFileName(finalPath)}.{Guid.NewGuid():N}.tmp");
            var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = length,
            });
            try
            {
                stream.SetLength(length);
            }
            catch
            {
                stream.Dispose();
                File.Delete(temp);
                throw;
            }
            return new ShardFile(finalPath, temp, stream);
        }

        public void Flush() => _stream.Flush(flushToDisk: true);

        public void Publish()
        {
            _stream.Dispose();
            AtomicFile.Commit(TempPath, FinalPath);
            Volatile.Write(ref _done, 1);
        }

        public void Abandon()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            _stream.Dispose();
            try { File.Delete(TempPath); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>One planned tensor: where it goes and which of its bytes have been claimed by writes.</summary>
    private sealed class Slot(TensorInfo info, ShardFile shard, long fileOffset)
    {
        // Claimed byte ranges, sorted, disjoint, adjacent ones merged (so sequential chunks stay one entry).
        private readonly List<(long Begin, long End)> _claimed = [];
        private bool _claimedEmpty;
        private long _written;

        public TensorInfo Info { get; } = info;
        public ShardFile Shard { get; } = shard;
        public long FileOffset { get; } = fileOffset;
        public long WrittenBytes => Interlocked.Read(ref _written);
        public bool IsComplete => WrittenBytes == Info.ByteCount;

        /// <summary>Claims <c>[begin, begin + length)</c> before writing, so two threads cannot write the same bytes.</summary>
        public void Reserve(long begin, long length)
        {
            lock (_claimed)
            {
                if (length == 0)
                {
                    if (_claimedEmpty) throw new InvalidOperationException($"Tensor '{Info.Name}' was already written.");
                    _claimedEmpty = true;
                    return;
                }
                long end = begin + length;
                int lo = 0, hi = _claimed.Count;
                while (lo < hi)
                {
                    int mid = (lo + hi) / 2;
                    if (_claimed[mid].End <= begin) lo = mid + 1; else hi = mid;
                }
                if (lo < _claimed.Count && _claimed[lo].Begin < end)
                {
                    var (b, e) = _claimed[lo];
                    throw new InvalidOperationException(b == 0 && e == Info.ByteCount
                        ? $"Tensor '{Info.Name}' was already written."
                        : $"Bytes [{begin}, {end}) of tensor '{Info.Name}' overlap bytes [{b}, {e}) already written.");
                }
                _claimed.Insert(lo, (begin, end));
                if (lo + 1 < _claimed.Count && _claimed[lo + 1].Begin == end)
                {
                    _claimed[lo] = (begin, _claimed[lo + 1].End);
                    _claimed.RemoveAt(lo + 1);
                }
                if (lo > 0 && _claimed[lo - 1].End == begin)
                {
                    _claimed[lo - 1] = (_claimed[lo - 1].Begin, _claimed[lo].End);
                    _claimed.RemoveAt(lo);
                }
            }
        }

        /// <summary>Counts written bytes; the write that completes a large tensor starts its writeback.</summary>
        public void Completed(long bytes)
        {
            if (Interlocked.Add(ref _written, bytes) == Info.ByteCount && Info.ByteCount >= WritebackMinimumBytes)
                Shard.StartWriteback(FileOffset, Info.ByteCount);
        }

        private const long WritebackMinimumBytes = 1 << 20;
    }
}
