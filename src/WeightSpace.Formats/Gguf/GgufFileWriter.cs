namespace WeightSpace.Formats.Gguf;

/// <summary>One tensor to write: its GGUF name, ggml dimensions (fastest first), output type and a producer of its
/// bytes (called once, in file order, so only one tensor is in memory at a time).</summary>
internal sealed record GgufTensorToWrite(string Name, long[] Ne, DType Type, Func<byte[]> Bytes)
{
    public long ElementCount => Ne.Aggregate(1L, (a, b) => checked(a * b));

    public long ByteCount => Type.ByteCount(ElementCount);
}

/// <summary>Serialises a GGUF v3 file (header, metadata, tensor infos, aligned data) through <see cref="AtomicFile"/>:
/// a temp file beside the target, fsynced and renamed, so a failure leaves nothing half-written.</summary>
internal static class GgufFileWriter
{
    /// <summary>Writes <paramref name="path"/>, or with <paramref name="split"/> the parts of a gguf-split set named
    /// after it. Tensor offsets are laid out in list order, each a multiple of <paramref name="alignment"/>, as
    /// gguf-py's <c>GGUFWriter</c> does. <c>split.*</c> keys in <paramref name="metadata"/> (a split source) are
    /// dropped: they describe the source's parts, not the output's. Returns the paths written.</summary>
    public static IReadOnlyList<string> Write(string path, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<GgufTensorToWrite> tensors,
        int alignment, IProgress<long>? bytesWritten = null, GgufSplitOptions? split = null)
    {
        if (alignment < 1 || (alignment & (alignment - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "must be a power of two");
        var model = metadata.Where(kv => !GgufSplit.IsSplitKey(kv.Key)).ToList();
        if (split is null)
        {
            var head = Header(model, tensors, alignment, out var offsets);
            AtomicFile.Write(path, stream => WriteData(stream, head, tensors, offsets, alignment, bytesWritten, 0));
            return [path];
        }

        // gguf-split: the model's metadata in the first part only, then split.no, split.count, split.tensors.count in
        // every part; later parts use the default alignment (they carry no general.alignment).
        var counts = GgufSplit.Plan([.. tensors.Select(t => t.ByteCount)], split);
        string prefix = GgufSplit.PrefixOf(path);
        var plan = new List<(string Path, string Temp, List<KeyValuePair<string, GgufValue>> Metadata, GgufTensorToWrite[] Tensors, int Alignment)>();
        int first = 0;
        for (int part = 0; part < counts.Count; part++)
        {
            var partMetadata = part == 0 ? new List<KeyValuePair<string, GgufValue>>(model) : [];
            partMetadata.Add(new(GgufSplit.NoKey, new GgufValue(GgufValueType.UInt16, (ushort)part)));
            partMetadata.Add(new(GgufSplit.CountKey, new GgufValue(GgufValueType.UInt16, (ushort)counts.Count)));
            partMetadata.Add(new(GgufSplit.TensorsCountKey, new GgufValue(GgufValueType.Int32, tensors.Count)));
            string partPath = GgufSplit.PartPath(prefix, part, counts.Count);
            plan.Add((partPath, AtomicFile.TempPathFor(partPath), partMetadata, [.. tensors.Skip(first).Take(counts[part])], part == 0 ? alignment : GgufHeader.DefaultAlignment));
            first += counts[part];
        }

        // All or nothing: every part is written to a temp file first; only when all are complete are they renamed.
        var published = new List<string>();
        try
        {
            long written = 0;
            foreach (var p in plan)
            {
                var head = Header(p.Metadata, p.Tensors, p.Alignment, out var offsets);
                using var stream = new FileStream(p.Temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                written = WriteData(stream, head, p.Tensors, offsets, p.Alignment, bytesWritten, written);
            }
            foreach (var p in plan)
            {
                AtomicFile.Commit(p.Temp, p.Path);
                published.Add(p.Path);
            }
            return [.. published];
        }
        catch
        {
            foreach (string done in published) File.Delete(done);
            throw;
        }
        finally
        {
            foreach (var p in plan)
                if (File.Exists(p.Temp)) File.Delete(p.Temp);
        }
    }

    private static MemoryStream Header(IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<GgufTensorToWrite> tensors, int alignment, out long[] offsets)
    {
        var head = new MemoryStream();
        head.Write("GGUF"u8);
        U32(head, 3);
        U64(head, (ulong)tensors.Count);
        U64(head, (ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            Str(head, key);
            U32(head, (uint)value.Type);
            Value(head, value);
        }
        long offset = 0;
        offsets = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            Str(head, t.Name);
            U32(head, (uint)t.Ne.Length);
            foreach (long d in t.Ne) U64(head, (ulong)d);
            if (!GgmlTypes.TryGetId(t.Type, out uint id)) throw new ArgumentException($"tensor '{t.Name}': {t.Type} has no ggml type id", nameof(tensors));
            U32(head, id);
            U64(head, (ulong)offset);
            offsets[i] = offset;
            offset = Align(checked(offset + t.ByteCount), alignment);
        }
        head.Write(new byte[Align(head.Length, alignment) - head.Length]);
        return head;
    }

    // Returns the running byte count reported to bytesWritten.
    private static long WriteData(Stream stream, MemoryStream head, IReadOnlyList<GgufTensorToWrite> tensors, long[] offsets, int alignment, IProgress<long>? bytesWritten, long written)
    {
        head.Position = 0;
        head.CopyTo(stream);
        long dataStart = stream.Position;
        for (int i = 0; i < tensors.Count; i++)
        {
            stream.Write(new byte[dataStart + offsets[i] - stream.Position]);
            byte[] bytes = tensors[i].Bytes();
            if (bytes.Length != tensors[i].ByteCount)
                throw new InvalidOperationException($"tensor '{tensors[i].Name}': {bytes.Length} bytes produced, {tensors[i].ByteCount} expected");
            stream.Write(bytes);
            bytesWritten?.Report(written += bytes.Length);
        }
        stream.Write(new byte[Align(stream.Position - dataStart, alignment) - (stream.Position - dataStart)]);
        return written;
    }

    /// <summary><paramref name="n"/> rounded up to a multiple of <paramref name="alignment"/>.</summary>
    public static long Align(long n, int alignment) => checked(n + (alignment - n % alignment) % alignment);

    private static void U32(Stream s, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); s.Write(b); }
    private static void U64(Stream s, ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); s.Write(b); }
    private static void Str(Stream s, string v) { var b = Encoding.UTF8.GetBytes(v); U64(s, (ulong)b.Length); s.Write(b); }

    private static void Value(Stream s, GgufValue v)
    {
        if (v.Type == GgufValueType.Array)
        {
            var array = (Array)v.Value;
            U32(s, (uint)v.ElementType!.Value);
            U64(s, (ulong)array.Length);
            foreach (object item in array)
                if (item is GgufValue nested) Value(s, nested);
                else Scalar(s, item);
            return;
        }
        Scalar(s, v.Value);
    }

    private static void Scalar(Stream s, object value)
    {
        Span<byte> b = stackalloc byte[8];
        switch (value)
        {
            case byte x: s.WriteByte(x); break;
            case sbyte x: s.WriteByte((byte)x); break;
            case bool x: s.WriteByte(x ? (byte)1 : (byte)0); break;
            case ushort x: BinaryPrimitives.WriteUInt16LittleEndian(b, x); s.Write(b[..2]); break;
            case short x: BinaryPrimitives.WriteInt16LittleEndian(b, x); s.Write(b[..2]); break;
            case uint x: U32(s, x); break;
            case int x: BinaryPrimitives.WriteInt32LittleEndian(b, x); s.Write(b[..4]); break;
            case float x: BinaryPrimitives.WriteSingleLittleEndian(b, x); s.Write(b[..4]); break;
            case ulong x: U64(s, x); break;
            case long x: BinaryPrimitives.WriteInt64LittleEndian(b, x); s.Write(b); break;
            case double x: BinaryPrimitives.WriteDoubleLittleEndian(b, x); s.Write(b); break;
            case string x: Str(s, x); break;
            default: throw new InvalidOperationException($"Unexpected metadata value {value.GetType()}.");
        }
    }
}
