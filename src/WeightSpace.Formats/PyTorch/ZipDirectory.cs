namespace WeightSpace.Formats.PyTorch;

/// <summary>One record of a zip file: where its data starts (from its local header) and how it is stored.</summary>
internal sealed record ZipEntry(string Name, ushort Method, long CompressedSize, long UncompressedSize, long LocalHeaderOffset, long DataOffset, uint Crc32 = 0);

/// <summary>A small, strict reader of a zip's central directory (ZIP64 included). It exists because
/// <c>System.IO.Compression.ZipArchive</c> does not expose where an entry's data starts, and the reader maps storages
/// in place instead of copying them. Every offset and length is checked against the file length.</summary>
/// <remarks>Layout: PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.12 (central header), 4.3.14–4.3.16
/// (ZIP64 end records and locator), 4.5.3 (ZIP64 extra field).</remarks>
internal static class ZipDirectory
{
    private const uint LocalSignature = 0x04034b50;
    private const uint CentralSignature = 0x02014b50;
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const int EndRecordSize = 22;
    private const int CentralHeaderSize = 46;
    private const int LocalHeaderSize = 30;

    public static IReadOnlyList<ZipEntry> Read(MappedFile file)
    {
        string path = file.Path;
        long length = file.Length;
        if (length < EndRecordSize) throw Bad(path, $"file of {length} bytes is too short for a zip end record");

        // The end record sits in the last 22 + 65535 bytes (its comment is at most 65535 bytes). Scan backwards for a
        // signature whose comment length reaches exactly the end of the file.
        long end = -1;
        long lowest = Math.Max(0, length - EndRecordSize - 0xFFFF);
        for (long p = length - EndRecordSize; p >= lowest; p--)
        {
            var rec = file.Span(p, EndRecordSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(rec) == EndSignature
                && p + EndRecordSize + BinaryPrimitives.ReadUInt16LittleEndian(rec[20..]) == length)
            {
                end = p;
                break;
            }
        }
        if (end < 0) throw Bad(path, "no zip end-of-central-directory record");

        var eocd = file.Span(end, EndRecordSize);
        long entryCount = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(eocd[12..]);
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);
        if (BinaryPrimitives.ReadUInt16LittleEndian(eocd[4..]) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(eocd[6..]) != 0)
            throw Bad(path, "multi-disk zip archives are not supported");

        if (entryCount == 0xFFFF || directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF)
        {
            long locator = end - 20;
            if (locator < 0 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(locator, 4)) != Zip64LocatorSignature)
                throw Bad(path, $"the end record at byte {end} needs ZIP64 values but no ZIP64 locator precedes it");
            long zip64End = CheckedOffset(path, BinaryPrimitives.ReadUInt64LittleEndian(file.Span(locator + 8, 8)), "ZIP64 end record offset");
            if (zip64End > locator - 56) throw Bad(path, $"ZIP64 end record offset {zip64End} is outside the file");
            var z = file.Span(zip64End, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(z) != Zip64EndSignature) throw Bad(path, $"no ZIP64 end record at byte {zip64End}");
            entryCount = CheckedOffset(path, BinaryPrimitives.ReadUInt64LittleEndian(z[32..]), "ZIP64 entry count");
            directorySize = CheckedOffset(path, BinaryPrimitives.ReadUInt64LittleEndian(z[40..]), "ZIP64 central directory size");
            directoryOffset = CheckedOffset(path, BinaryPrimitives.ReadUInt64LittleEndian(z[48..]), "ZIP64 central directory offset");
            end = zip64End;
        }
        if (directoryOffset > end || directorySize > end - directoryOffset)
            throw Bad(path, $"central directory {directoryOffset}+{directorySize} overlaps the end record at byte {end}");
        if (entryCount > directorySize / CentralHeaderSize)
            throw Bad(path, $"{entryCount} entries cannot fit a central directory of {directorySize} bytes");

        var entries = new List<ZipEntry>((int)entryCount);
        long p0 = directoryOffset, directoryEnd = directoryOffset + directorySize;
        for (long i = 0; i < entryCount; i++)
        {
            if (p0 > directoryEnd - CentralHeaderSize) throw Bad(path, $"central directory entry {i} runs past the directory");
            var h = file.Span(p0, CentralHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != CentralSignature) throw Bad(path, $"no central directory header at byte {p0}");
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            long next = p0 + CentralHeaderSize + nameLength + extraLength + commentLength;
            if (next > directoryEnd) throw Bad(path, $"central directory entry {i} at byte {p0} runs past the directory");
            string name = Encoding.UTF8.GetString(file.Span(p0 + CentralHeaderSize, nameLength));
            var extra = file.Span(p0 + CentralHeaderSize + nameLength, extraLength);
            if (uncompressed == 0xFFFFFFFF || compressed == 0xFFFFFFFF || localOffset == 0xFFFFFFFF)
                ReadZip64Extra(path, name, extra, ref uncompressed, ref compressed, ref localOffset);
            if ((flags & 1) != 0) throw Bad(path, $"zip entry '{name}' is encrypted");

            if (localOffset > directoryOffset - LocalHeaderSize)
                throw Bad(path, $"zip entry '{name}': local header offset {localOffset} is past the central directory at byte {directoryOffset}");
            var local = file.Span(localOffset, LocalHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(local) != LocalSignature)
                throw Bad(path, $"zip entry '{name}': no local header at byte {localOffset}");
            // The local extra field differs from the central one (PyTorch pads it so data lands on 64 bytes).
            long dataOffset = localOffset + LocalHeaderSize + BinaryPrimitives.ReadUInt16LittleEndian(local[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
            if (dataOffset > directoryOffset || compressed > directoryOffset - dataOffset)
                throw Bad(path, $"zip entry '{name}': data {dataOffset}+{compressed} runs past the central directory at byte {directoryOffset}");
            if (method == 0 && compressed != uncompressed)
                throw Bad(path, $"zip entry '{name}' is stored but its sizes differ ({compressed} vs {uncompressed})");
            entries.Add(new ZipEntry(name, method, compressed, uncompressed, localOffset, dataOffset, crc));
            p0 = next;
        }
        return entries;
    }

    private static void ReadZip64Extra(string path, string name, ReadOnlySpan<byte> extra, ref long uncompressed, ref long compressed, ref long localOffset)
    {
        while (extra.Length >= 4)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4) break;
            if (id == 0x0001)
            {
                // Only the fields whose 32-bit value is 0xFFFFFFFF are present, in this order.
                var body = extra.Slice(4, size);
                int k = 0;
                if (uncompressed == 0xFFFFFFFF) uncompressed = Field(ref k, body, "uncompressed size");
                if (compressed == 0xFFFFFFFF) compressed = Field(ref k, body, "compressed size");
                if (localOffset == 0xFFFFFFFF) localOffset = Field(ref k, body, "local header offset");
                return;
            }
            extra = extra[(4 + size)..];
        }
        throw Bad(path, $"zip entry '{name}' needs a ZIP64 extra field but has none");

        long Field(ref int k, ReadOnlySpan<byte> body, string what)
        {
            if (k + 8 > body.Length) throw Bad(path, $"zip entry '{name}': ZIP64 extra field lacks the {what}");
            long v = CheckedOffset(path, BinaryPrimitives.ReadUInt64LittleEndian(body[k..]), $"'{name}' {what}");
            k += 8;
            return v;
        }
    }

    private static long CheckedOffset(string path, ulong value, string what) =>
        value <= long.MaxValue ? (long)value : throw Bad(path, $"{what} {value} is too large");

    private static InvalidCheckpointException Bad(string path, string detail) => new(path, null, detail);
}
