using System.IO.Compression;
using System.IO.Hashing;
using WeightSpace.Formats.PyTorch;

namespace WeightSpace.Formats.Integrity;

/// <summary>One record whose stored checksum does not match its bytes.</summary>
/// <param name="Entry">The record's name in the archive (e.g. <c>archive/data/3</c>).</param>
/// <param name="Expected">The CRC-32 the archive's central directory gives.</param>
/// <param name="Actual">The CRC-32 of the record's bytes (after inflating a compressed record).</param>
public sealed record ChecksumMismatch(string Entry, uint Expected, uint Actual);

/// <summary>What <see cref="CheckpointIntegrity.Verify"/> found.</summary>
/// <param name="Path">The checkpoint.</param>
/// <param name="Format">Its format (<see cref="ICheckpointFormat.Name"/>).</param>
/// <param name="HasChecksums">False when the format carries no checksums (safetensors, ONNX, legacy torch.save): nothing was checked.</param>
/// <param name="Checked">Records whose checksum was computed.</param>
/// <param name="Bytes">Bytes hashed.</param>
/// <param name="Mismatches">Records whose checksum is wrong, in archive order.</param>
public sealed record IntegrityReport(string Path, string Format, bool HasChecksums, int Checked, long Bytes, IReadOnlyList<ChecksumMismatch> Mismatches)
{
    /// <summary>True when no checksum failed.</summary>
    public bool Ok => Mismatches.Count == 0;
}

/// <summary>Checks a checkpoint against the checksums its format carries: the CRC-32 of every record of a torch.save
/// zip archive. Opening a checkpoint does not do this, since it would read every tensor; a file damaged in transfer is
/// otherwise read as wrong numbers.</summary>
public static class CheckpointIntegrity
{
    private const int Chunk = 64 << 20;

    /// <summary>Verifies <paramref name="path"/>.</summary>
    /// <exception cref="InvalidCheckpointException">The file is not a readable checkpoint (the message names it).</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static IntegrityReport Verify(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var format = Checkpoint.Identify(path);
        if (format.Name != "pytorch" || Directory.Exists(path) || !IsZip(path))
            return new IntegrityReport(path, format.Name, false, 0, 0, []);
        return VerifyZip(path, format.Name, cancellationToken);
    }

    private static IntegrityReport VerifyZip(string path, string formatName, CancellationToken cancellationToken)
    {
        using var file = new MappedFile(path);
        var mismatches = new List<ChecksumMismatch>();
        long bytes = 0;
        var entries = ZipDirectory.Read(file);
        var crc = new Crc32();
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            crc.Reset();
            if (entry.Method == 0)
            {
                for (long at = 0; at < entry.CompressedSize; at += Chunk)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    crc.Append(file.Span(entry.DataOffset + at, (int)Math.Min(Chunk, entry.CompressedSize - at)));
                }
                bytes += entry.CompressedSize;
            }
            else if (entry.Method == 8)
            {
                bytes += Inflate(file, entry, crc, path, cancellationToken);
            }
            else throw new InvalidCheckpointException(path, entry.Name, $"zip compression method {entry.Method} is not supported (only stored and deflate)");
            uint actual = crc.GetCurrentHashAsUInt32();
            if (actual != entry.Crc32) mismatches.Add(new ChecksumMismatch(entry.Name, entry.Crc32, actual));
        }
        return new IntegrityReport(path, formatName, true, entries.Count, bytes, mismatches);
    }

    private static unsafe long Inflate(MappedFile file, ZipEntry entry, Crc32 crc, string path, CancellationToken cancellationToken)
    {
        using var compressed = new UnmanagedMemoryStream(file.PointerAt(entry.DataOffset), entry.CompressedSize);
        using var inflate = new DeflateStream(compressed, CompressionMode.Decompress);
        var buffer = new byte[1 << 20];
        long total = 0;
        try
        {
            for (int n; (n = inflate.Read(buffer)) > 0;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                crc.Append(buffer.AsSpan(0, n));
                total += n;
                // A record that inflates past its declared size is damaged; stop instead of inflating a bomb.
                if (total > entry.UncompressedSize) break;
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidCheckpointException(path, entry.Name, $"deflate data is corrupt: {e.Message}");
        }
        return total;
    }

    private static bool IsZip(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic is [0x50, 0x4B, 0x03, 0x04];
    }
}
