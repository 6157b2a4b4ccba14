using System.IO.Compression;

namespace WeightSpace.Analysis.Datasets;

/// <summary>Reads NumPy <c>.npy</c> arrays (format versions 1.0, 2.0 and 3.0) and <c>.npz</c> archives (zip of .npy,
/// stored or deflated).</summary>
/// <remarks>Format: <see href="https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html"/>: the magic
/// <c>\x93NUMPY</c>, a major and minor version byte, a little-endian header length (u16 in 1.0, u32 in 2.0/3.0),
/// then a Python dict literal with <c>descr</c>, <c>fortran_order</c> and <c>shape</c>.</remarks>
public static class NumpyFile
{
    /// <summary>Reads one .npy file.</summary>
    /// <exception cref="InvalidDatasetException">The file is malformed, its dtype unsupported or a limit exceeded.</exception>
    public static NumpyArray Read(string path, DatasetLoadOptions? options = null)
    {
        options ??= DatasetLoadOptions.Default;
        using var stream = DataFile.Open(path, out bool compressed);
        return ReadCore(stream, compressed ? null : stream.Length, path, options);
    }

    /// <summary>Reads every array of an .npz archive, keyed by entry name without the <c>.npy</c> suffix.</summary>
    /// <exception cref="InvalidDatasetException">The archive or an entry is malformed, or a limit is exceeded.</exception>
    public static IReadOnlyDictionary<string, NumpyArray> ReadArchive(string path, DatasetLoadOptions? options = null)
    {
        options ??= DatasetLoadOptions.Default;
        ZipArchive zip;
        try { zip = new ZipArchive(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read), ZipArchiveMode.Read); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new InvalidDatasetException(path, "file not found", e); }
        catch (InvalidDataException e) { throw new InvalidDatasetException(path, "not a zip archive (.npz)", e); }
        using (zip)
        {
            var result = new Dictionary<string, NumpyArray>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue;
                string key = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                string where = $"{path}[{entry.FullName}]";
                try
                {
                    // The declared uncompressed length is untrusted too; ReadCore checks the payload against it and the
                    // decompressor stops at the real end, so a lying entry fails as truncated or trailing.
                    using var entryStream = entry.Open();
                    var array = ReadCore(entryStream, null, where, options);
                    if (!result.TryAdd(key, array)) throw new InvalidDatasetException(path, $"duplicate entry '{key}'");
                }
                catch (InvalidDataException e) { throw new InvalidDatasetException(where, "corrupt compressed entry", e); }
            }
            return result;
        }
    }

    private static NumpyArray ReadCore(Stream stream, long? fileLength, string path, DatasetLoadOptions options)
    {
        Span<byte> pre = stackalloc byte[8];
        DataFile.ReadExactly(stream, pre, path, "the .npy magic and version");
        if (pre[0] != 0x93 || !pre[1..6].SequenceEqual("NUMPY"u8))
            throw new InvalidDatasetException(path, "not a .npy file: the magic \\x93NUMPY is missing");
        int major = pre[6];
        long headerLength;
        int prefixBytes;
        if (major == 1)
        {
            Span<byte> len = stackalloc byte[2];
            DataFile.ReadExactly(stream, len, path, "the .npy header length");
            headerLength = BitConverter.ToUInt16(len);
            prefixBytes = 10;
        }
        else if (major is 2 or 3)
        {
            Span<byte> len = stackalloc byte[4];
            DataFile.ReadExactly(stream, len, path, "the .npy header length");
            headerLength = BitConverter.ToUInt32(len);
            prefixBytes = 12;
        }
        else throw new InvalidDatasetException(path, $".npy format version {major}.{pre[7]} is not supported (1.0, 2.0 and 3.0 are)");
        if (headerLength > options.MaxNpyHeaderBytes)
            throw new InvalidDatasetException(path, $".npy header of {headerLength} bytes exceeds the limit of {options.MaxNpyHeaderBytes}");
        if (fileLength is long total && headerLength > total - prefixBytes)
            throw new InvalidDatasetException(path, $".npy header of {headerLength} bytes is longer than the file");

        var headerBytes = new byte[headerLength];
        DataFile.ReadExactly(stream, headerBytes, path, "the .npy header");
        Encoding encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        var header = NpyHeader.Parse(encoding.GetString(headerBytes), path, options);

        long count = header.Shape.ElementCount;
        if (count > options.MaxElementCount)
            throw new InvalidDatasetException(path, $"shape {header.Shape} declares {count} elements, over the limit of {options.MaxElementCount}");
        long dataBytes = header.DType.ByteCount(count);
        if (fileLength is long length && length - prefixBytes - headerLength != dataBytes)
            throw new InvalidDatasetException(path, $"{header.Descr}{header.Shape} needs {dataBytes} data bytes but the file has {length - prefixBytes - headerLength}");
        var data = GC.AllocateUninitializedArray<byte>(checked((int)dataBytes));
        DataFile.ReadExactly(stream, data, path, $"the data of {header.Descr}{header.Shape}");
        DataFile.ExpectEnd(stream, path);
        if (header.FortranOrder) data = FortranToC(data, header.Shape, header.DType.SizeInBytes());
        return new NumpyArray(header.Shape, header.DType, data);
    }

    // Fortran order stores the first index fastest; walk the C-order destination and compute each source offset.
    private static byte[] FortranToC(byte[] source, Shape shape, int elementBytes)
    {
        int rank = shape.Rank;
        if (rank < 2) return source;
        var dims = shape.ToArray();
        var fortranStride = new long[rank];
        long s = 1;
        for (int k = 0; k < rank; k++) { fortranStride[k] = s; s *= dims[k]; }
        var result = new byte[source.Length];
        var index = new long[rank];
        long count = shape.ElementCount;
        for (long c = 0; c < count; c++)
        {
            long f = 0;
            for (int k = 0; k < rank; k++) f += index[k] * fortranStride[k];
            Buffer.BlockCopy(source, (int)(f * elementBytes), result, (int)(c * elementBytes), elementBytes);
            for (int k = rank - 1; k >= 0; k--)
            {
                if (++index[k] < dims[k]) break;
                index[k] = 0;
            }
        }
        return result;
    }

    private sealed record NpyHeader(string Descr, DType DType, bool FortranOrder, Shape Shape)
    {
        // The header is a Python dict literal written by numpy's repr; accept exactly its three keys.
        public static NpyHeader Parse(string text, string path, DatasetLoadOptions options)
        {
            string? descr = null, fortran = null, shapeText = null;
            var t = text.Trim().TrimEnd('\n', ' ', '\0');
            if (!t.StartsWith('{') || !t.EndsWith('}')) throw Bad(path, text, "is not a dict literal");
            string body = t[1..^1];
            int pos = 0;
            while (true)
            {
                SkipSpace(body, ref pos);
                if (pos >= body.Length) break;
                string key = ReadQuoted(body, ref pos, path, text);
                SkipSpace(body, ref pos);
                if (pos >= body.Length || body[pos] != ':') throw Bad(path, text, $"has no ':' after key '{key}'");
                pos++;
                SkipSpace(body, ref pos);
                string value;
                if (pos < body.Length && body[pos] is '\'' or '"') value = ReadQuoted(body, ref pos, path, text);
                else if (pos < body.Length && body[pos] == '(')
                {
                    int close = body.IndexOf(')', pos);
                    if (close < 0) throw Bad(path, text, "has an unclosed shape tuple");
                    value = body[(pos + 1)..close];
                    pos = close + 1;
                }
                else
                {
                    int end = body.IndexOf(',', pos);
                    if (end < 0) end = body.Length;
                    value = body[pos..end].Trim();
                    pos = end;
                }
                switch (key)
                {
                    case "descr": descr = value; break;
                    case "fortran_order": fortran = value; break;
                    case "shape": shapeText = value; break;
                    default: throw Bad(path, text, $"has unknown key '{key}'");
                }
                SkipSpace(body, ref pos);
                if (pos < body.Length && body[pos] == ',') pos++;
            }
            if (descr is null || fortran is null || shapeText is null) throw Bad(path, text, "lacks descr, fortran_order or shape");
            bool isFortran = fortran switch
            {
                "True" => true,
                "False" => false,
                _ => throw Bad(path, text, $"fortran_order '{fortran}' is not True or False"),
            };
            var parts = shapeText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > options.MaxRank) throw Bad(path, text, $"has {parts.Length} dimensions, over the limit of {options.MaxRank}");
            var dims = new long[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]))
                    throw Bad(path, text, $"shape dimension '{parts[i]}' is not a non-negative integer");
            Shape shape;
            try { shape = new Shape(dims); }
            catch (ArgumentException e) { throw new InvalidDatasetException(path, $"shape ({shapeText}) overflows", e); }
            return new NpyHeader(descr, ParseDescr(descr, path), isFortran, shape);
        }

        private static DType ParseDescr(string descr, string path) => descr switch
        {
            "<f4" => DType.F32,
            "<f8" => DType.F64,
            "|u1" or "<u1" or "u1" => DType.U8,
            "|i1" or "<i1" or "i1" => DType.I8,
            "<i2" => DType.I16,
            "<i4" => DType.I32,
            "<i8" => DType.I64,
            "|b1" => DType.Bool,
            _ when descr.StartsWith('>') => throw new InvalidDatasetException(path, $"dtype '{descr}' is big-endian; only little-endian arrays are read"),
            _ => throw new InvalidDatasetException(path, $"dtype '{descr}' is not supported (use <f4, <f8, |u1, |i1, <i2, <i4, <i8 or |b1)"),
        };

        private static void SkipSpace(string s, ref int pos)
        {
            while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
        }

        private static string ReadQuoted(string s, ref int pos, string path, string text)
        {
            if (pos >= s.Length || s[pos] is not ('\'' or '"')) throw Bad(path, text, $"expected a quoted string at offset {pos}");
            char quote = s[pos];
            int end = s.IndexOf(quote, pos + 1);
            if (end < 0) throw Bad(path, text, "has an unterminated string");
            string value = s[(pos + 1)..end];
            pos = end + 1;
            return value;
        }

        private static InvalidDatasetException Bad(string path, string header, string detail)
        {
            string shown = header.Length > 120 ? header[..120] + "…" : header;
            return new InvalidDatasetException(path, $".npy header {detail}: {shown.Trim()}");
        }
    }
}
