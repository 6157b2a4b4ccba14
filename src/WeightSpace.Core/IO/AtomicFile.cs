using System.Runtime.InteropServices;

namespace WeightSpace.IO;

/// <summary>The one way WeightSpace publishes a file or a directory: write a sibling temp, fsync it, rename it over the
/// target, fsync the parent directory. A reader sees the old content or the complete new one, never half of it; after
/// a crash or power loss the rename itself is durable; an interrupted run leaves no temp behind.</summary>
/// <remarks>The directory fsync is what <c>rename(2)</c> needs for durability on Linux (ext4, xfs): without it the new
/// name can be lost although the data was synced. On Windows the rename is journalled by NTFS and no directory handle
/// can be synced, so that step is skipped there.</remarks>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="text"/> as UTF-8 (no BOM) to <paramref name="path"/>.</summary>
    public static void WriteAllText(string path, string text) => Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        writer.Write(text);
    });

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>Hands <paramref name="write"/> a stream onto a temp file beside <paramref name="path"/>, then publishes it.</summary>
    /// <exception cref="IOException">The file cannot be written or renamed; the temp file is removed.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Write(path, temp =>
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            write(stream);
        });
    }

    /// <summary>Runs <paramref name="writeToPath"/> on a temp path beside <paramref name="path"/> (for writers that
    /// only take a path, such as image encoders), then publishes it.</summary>
    /// <exception cref="IOException">The file cannot be written or renamed; the temp file is removed.</exception>
    public static void Write(string path, Action<string> writeToPath)
    {
        ArgumentNullException.ThrowIfNull(writeToPath);
        string temp = TempPathFor(path);
        try
        {
            writeToPath(temp);
            Commit(temp, path);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>A fresh temp path in <paramref name="path"/>'s folder (created if missing), hidden and unique, so a
    /// rename onto <paramref name="path"/> stays on one file system.</summary>
    public static string TempPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new IOException($"{path}: has no parent directory");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Publishes a complete temp file: fsyncs it, renames it over <paramref name="path"/>, fsyncs the folder.</summary>
    /// <param name="tempPath">A file written beside <paramref name="path"/> (e.g. from <see cref="TempPathFor"/>), closed.</param>
    /// <param name="path">The final name.</param>
    public static void Commit(string tempPath, string path)
    {
        using (var stream = new FileStream(tempPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            stream.Flush(flushToDisk: true);
        string full = Path.GetFullPath(path);
        File.Move(tempPath, full, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(full)!);
    }

    /// <summary>Publishes a complete staging directory as <paramref name="target"/>: every file in it is fsynced, an
    /// existing target is moved aside, the staging directory renamed into place, the parent fsynced, and the old
    /// target deleted. If the rename fails, the old target is put back.</summary>
    /// <param name="staging">A directory beside <paramref name="target"/> holding the finished output.</param>
    /// <param name="target">The final directory name.</param>
    public static void CommitDirectory(string staging, string target)
    {
        foreach (string file in Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories))
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
                stream.Flush(flushToDisk: true);
        SyncDirectory(staging);
        string full = Path.GetFullPath(target);
        string parent = Path.GetDirectoryName(full)!;
        string? aside = null;
        if (Directory.Exists(full))
        {
            aside = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
            Directory.Move(full, aside);
        }
        try { Directory.Move(staging, full); }
        catch
        {
            if (aside is not null) Directory.Move(aside, full);
            throw;
        }
        SyncDirectory(parent);
        if (aside is not null) TryDeleteDirectory(aside);
    }

    /// <summary>Deletes a directory tree, ignoring failures (a staging or set-aside directory that cannot be removed
    /// must not hide the error that made us remove it).</summary>
    public static void TryDeleteDirectory(string directory)
    {
        try { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>fsyncs a directory, so renames and creations inside it survive a crash (no-op on Windows).</summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"{directory}: cannot open the directory to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            // EINVAL: the file system cannot sync directories (some FUSE and network mounts); nothing more to do there.
            if (FSync(fd) != 0 && Marshal.GetLastPInvokeError() is int errno && errno != EInval)
                throw new IOException($"{directory}: fsync of the directory failed (errno {errno})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private const int EInval = 22;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
