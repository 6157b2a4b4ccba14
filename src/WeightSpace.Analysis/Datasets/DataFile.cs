using System.IO.Compression;

namespace WeightSpace.Analysis.Datasets;

/// <summary>Opens dataset files, transparently un-gzipping them (recognised by the gzip magic, not the extension).</summary>
internal static class DataFile
{
    /// <summary>Opens <paramref name="path"/>; <paramref name="compressed"/> says whether the bytes are gzip, in which case
    /// the file length says nothing about the decompressed length.</summary>
    public static Stream Open(string path, out bool compressed)
    {
        FileStream file;
        try { file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDatasetException(path, "file not found", e);
        }
        Span<byte> magic = stackalloc byte[2];
        int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        compressed = got == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        return compressed ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="stream"/> or throws naming the shortfall.</summary>
    public static void ReadExactly(Stream stream, Span<byte> destination, string path, string what)
    {
        int got;
        try { got = stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false); }
        catch (InvalidDataException e) { throw new InvalidDatasetException(path, $"corrupt gzip data while reading {what}", e); }
        if (got < destination.Length)
            throw new InvalidDatasetException(path, $"truncated: {what} needs {destination.Length} bytes but only {got} remain");
    }

    /// <summary>Throws if <paramref name="stream"/> has bytes left: a length mismatch means the header lies.</summary>
    public static void ExpectEnd(Stream stream, string path)
    {
        int next;
        try { next = stream.ReadByte(); }
        catch (InvalidDataException e) { throw new InvalidDatasetException(path, "corrupt gzip data after the payload", e); }
        if (next != -1) throw new InvalidDatasetException(path, "trailing bytes after the data the header declares");
    }
}
