using System.Diagnostics.CodeAnalysis;

namespace WeightSpace.Formats.Gguf;

/// <summary>A validated GGUF header: version, metadata, tensor infos and the data section's place. Parse one from
/// bytes you already hold (a ranged download, a fuzzer's input) with <see cref="Parse"/>; open files with
/// <see cref="GgufReader.Open"/>.</summary>
/// <remarks>
/// Layout (little-endian, ggml docs/gguf.md): magic <c>GGUF</c>, u32 version, u64 tensor count, u64 key/value count,
/// the key/value pairs, the tensor infos, padding to <c>general.alignment</c> (default 32), the data. Every count and
/// length is checked against the bytes left before anything is allocated for it, every product and sum with checked
/// arithmetic, so a hostile file costs at most memory proportional to its own size.
/// </remarks>
public sealed class GgufHeader
{
    /// <summary>The alignment llama.cpp uses when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;
    private const int MaxDimensions = 4;   // GGML_MAX_DIMS
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private GgufHeader(string path, uint version, IReadOnlyList<KeyValuePair<string, GgufValue>> metadata, IReadOnlyList<GgufTensorEntry> tensors, int alignment, long dataStart, long fileLength)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataStart = dataStart;
        FileLength = fileLength;
    }

    /// <summary>The file name used in error messages.</summary>
    public string Path { get; }
    /// <summary>GGUF version (2 or 3).</summary>
    public uint Version { get; }
    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }
    /// <summary>Tensor infos in file order, validated against the file length.</summary>
    public IReadOnlyList<GgufTensorEntry> Tensors { get; }
    /// <summary>Data alignment in bytes.</summary>
    public int Alignment { get; }
    /// <summary>Absolute offset of the data section.</summary>
    public long DataStart { get; }
    /// <summary>Length of the whole file.</summary>
    public long FileLength { get; }

    /// <summary>True if <paramref name="head"/> starts with the GGUF magic.</summary>
    internal static bool HasMagic(ReadOnlySpan<byte> head) => head.StartsWith("GGUF"u8);

    /// <summary>Parses and validates the header held in <paramref name="data"/> (the file's first bytes, at least the
    /// whole header) of a file <paramref name="fileLength"/> bytes long.</summary>
    /// <param name="path">Names the file in error messages.</param>
    /// <param name="data">The first bytes of the file.</param>
    /// <param name="fileLength">The whole file's length (tensor ranges are checked against it).</param>
    /// <param name="options">Limits; the defaults if null.</param>
    /// <exception cref="InvalidGgufException">Anything is wrong; the message says what, where, and the number.</exception>
    public static GgufHeader Parse(string path, ReadOnlySpan<byte> data, long fileLength, GgufOptions? options = null)
    {
        options ??= new GgufOptions();
        options.Validate();
        if (fileLength < data.Length) throw new ArgumentOutOfRangeException(nameof(fileLength), fileLength, "The file cannot be shorter than the bytes given.");
        var r = new Reader(path, data, fileLength);
        if (data.Length < 4 || !HasMagic(data))
            throw Error(path, null, null, data.Length < 4 ? $"file has {fileLength} bytes, too short for the GGUF magic" : "does not start with the GGUF magic");
        r.Skip(4);
        uint version = r.U32("the version");
        if (version == 1)
            throw Error(path, null, null, "GGUF version 1 is not supported (llama.cpp dropped it in 2023: its counts are 32-bit); re-convert the model with a current llama.cpp");
        if (version != 2 && version != 3)
        {
            string hint = version != 0 && (version & 0xFFFF) == 0 ? " (a big-endian GGUF? only little-endian files are read)" : "";
            throw Error(path, null, null, $"GGUF version {version} is not supported; versions 2 and 3 are{hint}");
        }
        ulong tensorCount = r.U64("the tensor count");
        ulong kvCount = r.U64("the key/value count");
        if (kvCount > (ulong)options.MaxKeyValueCount)
            throw Error(path, null, null, $"key/value count {kvCount} exceeds MaxKeyValueCount ({options.MaxKeyValueCount})");
        if (tensorCount > (ulong)options.MaxTensorCount)
            throw Error(path, null, null, $"tensor count {tensorCount} exceeds MaxTensorCount ({options.MaxTensorCount})");
        // Each pair needs ≥ 12 bytes (key length, type) and each tensor info ≥ 24 (name length, n_dims, type, offset).
        if (kvCount > (ulong)r.Remaining / 12)
            throw Error(path, null, null, $"key/value count {kvCount} cannot fit in the {r.Remaining} bytes left {r.Scope}");
        if (tensorCount > (ulong)r.Remaining / 24)
            throw Error(path, null, null, $"tensor count {tensorCount} cannot fit in the {r.Remaining} bytes left {r.Scope}");

        var metadata = new List<KeyValuePair<string, GgufValue>>((int)kvCount);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            long at = r.Position;
            string key = r.String(options, null, null, $"key {i}");
            if (key.Length == 0) throw Error(path, null, null, $"byte {at}: key {i} is empty");
            if (!keys.Add(key)) throw Error(path, null, key, $"byte {at}: duplicate key");
            uint type = r.U32($"the type of key '{key}'");
            metadata.Add(new(key, ReadValue(ref r, type, options, key, 1)));
        }

        int alignment = DefaultAlignment;
        foreach (var (key, value) in metadata)
        {
            if (key != "general.alignment") continue;
            if (value.Type != GgufValueType.UInt32)
                throw Error(path, null, key, $"must be a UINT32, not {GgufValue.TypeName(value.Type)}");
            uint a = (uint)value.Value;
            if (a == 0 || (a & (a - 1)) != 0 || a > 1 << 30)
                throw Error(path, null, key, $"alignment {a} is not a power of two between 1 and 2^30");
            alignment = (int)a;
        }

        var raw = new List<(string Name, long At, uint Type, long[] Ne, ulong Offset)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            long at = r.Position;
            string name = r.String(options, null, null, $"the name of tensor {i}");
            if (name.Length == 0) throw Error(path, null, null, $"byte {at}: tensor {i} has an empty name");
            if (!names.Add(name)) throw Error(path, name, null, $"byte {at}: duplicate tensor name");
            uint nDims = r.U32($"the dimension count of tensor '{name}'");
            if (nDims > MaxDimensions)
                throw Error(path, name, null, $"has {nDims} dimensions; ggml allows at most {MaxDimensions}");
            var ne = new long[nDims];
            for (int d = 0; d < nDims; d++)
            {
                ulong v = r.U64($"dimension {d} of tensor '{name}'");
                if (v > long.MaxValue) throw Error(path, name, null, $"dimension {d} is {v}, over 2^63 − 1");
                ne[d] = (long)v;
            }
            uint type = r.U32($"the type of tensor '{name}'");
            ulong offset = r.U64($"the offset of tensor '{name}'");
            raw.Add((name, at, type, ne, offset));
        }

        long infoEnd = r.Position;
        long dataStart = checked(infoEnd + (alignment - infoEnd % alignment) % alignment);
        if (raw.Count > 0 && dataStart > fileLength)
            throw Error(path, null, null, $"the data section would start at byte {dataStart} (tensor infos end at {infoEnd}, alignment {alignment}) but the file has {fileLength} bytes");
        long dataLength = Math.Max(0, fileLength - dataStart);

        var tensors = new List<GgufTensorEntry>(raw.Count);
        foreach (var (name, at, typeId, ne, offset) in raw)
        {
            if (!GgmlTypes.TryGetDType(typeId, out var dtype))
            {
                string? known = GgmlTypes.Name(typeId);
                throw Error(path, name, null, known is null
                    ? $"ggml type {typeId} is unknown"
                    : $"ggml type {known} ({typeId}) is not read by WeightSpace (it reads F32, F16, BF16, F64, I8–I64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K–Q6_K, IQ4_NL, IQ4_XS)");
            }
            long elements = 1;
            foreach (long d in ne)
            {
                try { elements = checked(elements * d); }
                catch (OverflowException e)
                {
                    throw Error(path, name, null, $"dimensions [{string.Join(", ", ne)}] have more than 2^63 elements", e);
                }
            }
            int block = dtype.BlockElementCount();
            if (ne.Length > 0 && ne[0] % block != 0)
                throw Error(path, name, null, $"row length {ne[0]} is not a multiple of the {dtype.ToSafetensorsName()} block size {block}");
            if (!dtype.TryGetByteCount(elements, out long bytes))
                throw Error(path, name, null, $"{elements} elements of {dtype.ToSafetensorsName()} need more than 2^63 bytes");
            if (offset > (ulong)dataLength)
                throw Error(path, name, null, $"offset {offset} is past the end of the data section ({dataLength} bytes from byte {dataStart})");
            if (offset % (ulong)alignment != 0)
                throw Error(path, name, null, $"offset {offset} is not a multiple of the alignment {alignment}");
            if (bytes > dataLength - (long)offset)
                throw Error(path, name, null, $"data [{offset}, {offset} + {bytes}) runs past the end of the data section ({dataLength} bytes): the file is truncated or the offset is wrong");
            tensors.Add(new GgufTensorEntry(name, typeId, dtype, ne, (long)offset, bytes));
        }

        // Tensors may be listed in any order but may not share bytes (overlap is a cheap way to make a small file
        // decode to a huge model).
        var byOffset = tensors.Where(t => t.ByteCount > 0).OrderBy(t => t.Offset).ToList();
        for (int i = 1; i < byOffset.Count; i++)
        {
            var prev = byOffset[i - 1];
            if (byOffset[i].Offset < prev.Offset + prev.ByteCount)
                throw Error(path, byOffset[i].Name, null, $"data at offset {byOffset[i].Offset} overlaps tensor '{prev.Name}' [{prev.Offset}, {prev.Offset + prev.ByteCount})");
        }
        return new GgufHeader(path, version, metadata, tensors, alignment, dataStart, fileLength);
    }

    private static GgufValue ReadValue(ref Reader r, uint type, GgufOptions options, string key, int depth)
    {
        switch ((GgufValueType)type)
        {
            case GgufValueType.UInt8: return new(GgufValueType.UInt8, r.Take(1, key)[0]);
            case GgufValueType.Int8: return new(GgufValueType.Int8, (sbyte)r.Take(1, key)[0]);
            case GgufValueType.UInt16: return new(GgufValueType.UInt16, BinaryPrimitives.ReadUInt16LittleEndian(r.Take(2, key)));
            case GgufValueType.Int16: return new(GgufValueType.Int16, BinaryPrimitives.ReadInt16LittleEndian(r.Take(2, key)));
            case GgufValueType.UInt32: return new(GgufValueType.UInt32, BinaryPrimitives.ReadUInt32LittleEndian(r.Take(4, key)));
            case GgufValueType.Int32: return new(GgufValueType.Int32, BinaryPrimitives.ReadInt32LittleEndian(r.Take(4, key)));
            case GgufValueType.Float32: return new(GgufValueType.Float32, BinaryPrimitives.ReadSingleLittleEndian(r.Take(4, key)));
            case GgufValueType.UInt64: return new(GgufValueType.UInt64, BinaryPrimitives.ReadUInt64LittleEndian(r.Take(8, key)));
            case GgufValueType.Int64: return new(GgufValueType.Int64, BinaryPrimitives.ReadInt64LittleEndian(r.Take(8, key)));
            case GgufValueType.Float64: return new(GgufValueType.Float64, BinaryPrimitives.ReadDoubleLittleEndian(r.Take(8, key)));
            case GgufValueType.Bool: return new(GgufValueType.Bool, r.Bool(key));
            case GgufValueType.String: return new(GgufValueType.String, r.String(options, null, key, "the value"));
            case GgufValueType.Array: return ReadArray(ref r, options, key, depth);
            default: throw Error(r.Path, null, key, $"byte {r.Position - 4}: value type {type} is unknown (0–12 are defined)");
        }
    }

    private static GgufValue ReadArray(ref Reader r, GgufOptions options, string key, int depth)
    {
        if (depth > options.MaxArrayDepth)
            throw Error(r.Path, null, key, $"arrays are nested deeper than MaxArrayDepth ({options.MaxArrayDepth})");
        long at = r.Position;
        uint elementType = r.U32($"the array element type of key '{key}'");
        ulong count = r.U64($"the array length of key '{key}'");
        int minBytes = (GgufValueType)elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
            GgufValueType.Array => 12,
            _ => throw Error(r.Path, null, key, $"byte {at}: array element type {elementType} is unknown (0–12 are defined)"),
        };
        if (count > (ulong)options.MaxArrayLength)
            throw Error(r.Path, null, key, $"array length {count} exceeds MaxArrayLength ({options.MaxArrayLength})");
        if (count > (ulong)(r.Remaining / minBytes))
            throw Error(r.Path, null, key, $"array of {count} {GgufValue.TypeName((GgufValueType)elementType)} needs at least {count} × {minBytes} bytes; {r.Remaining} are left {r.Scope}");
        int n = (int)count;
        var type = (GgufValueType)elementType;
        object values;
        switch (type)
        {
            case GgufValueType.UInt8: values = r.Take(n, key).ToArray(); break;
            case GgufValueType.Int8: values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(r.Take(n, key)).ToArray(); break;
            case GgufValueType.UInt16: values = Fixed<ushort>(ref r, n, 2, key, BinaryPrimitives.ReadUInt16LittleEndian); break;
            case GgufValueType.Int16: values = Fixed<short>(ref r, n, 2, key, BinaryPrimitives.ReadInt16LittleEndian); break;
            case GgufValueType.UInt32: values = Fixed<uint>(ref r, n, 4, key, BinaryPrimitives.ReadUInt32LittleEndian); break;
            case GgufValueType.Int32: values = Fixed<int>(ref r, n, 4, key, BinaryPrimitives.ReadInt32LittleEndian); break;
            case GgufValueType.Float32: values = Fixed<float>(ref r, n, 4, key, BinaryPrimitives.ReadSingleLittleEndian); break;
            case GgufValueType.UInt64: values = Fixed<ulong>(ref r, n, 8, key, BinaryPrimitives.ReadUInt64LittleEndian); break;
            case GgufValueType.Int64: values = Fixed<long>(ref r, n, 8, key, BinaryPrimitives.ReadInt64LittleEndian); break;
            case GgufValueType.Float64: values = Fixed<double>(ref r, n, 8, key, BinaryPrimitives.ReadDoubleLittleEndian); break;
            case GgufValueType.Bool:
            {
                var bools = new bool[n];
                for (int i = 0; i < n; i++) bools[i] = r.Bool(key);
                values = bools;
                break;
            }
            case GgufValueType.String:
            {
                var strings = new string[n];
                for (int i = 0; i < n; i++) strings[i] = r.String(options, null, key, $"element {i}");
                values = strings;
                break;
            }
            default:
            {
                var nested = new GgufValue[n];
                for (int i = 0; i < n; i++) nested[i] = ReadArray(ref r, options, key, depth + 1);
                values = nested;
                break;
            }
        }
        return new GgufValue(GgufValueType.Array, values, type);
    }

    private delegate T ReadScalar<T>(ReadOnlySpan<byte> bytes);

    private static T[] Fixed<T>(ref Reader r, int n, int size, string key, ReadScalar<T> read)
    {
        var bytes = r.Take(checked(n * size), key);
        var result = new T[n];
        for (int i = 0; i < n; i++) result[i] = read(bytes.Slice(i * size, size));
        return result;
    }

    /// <summary>The error every validation failure throws.</summary>
    internal static InvalidGgufException Error(string path, string? tensor, string? key, string detail, Exception? inner = null) =>
        new(path, tensor, key, detail, inner);

    // A bounds-checked little-endian cursor over the header bytes. Running out of bytes is "truncated" when the file
    // itself ends, and "header larger than MaxHeaderBytes" when only the parsed span does.
    private ref struct Reader(string path, ReadOnlySpan<byte> data, long fileLength)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public readonly string Path = path;
        public int Position { get; private set; }
        public readonly long Remaining => _data.Length - Position;

        /// <summary>Where the remaining bytes end: the file, or the MaxHeaderBytes window.</summary>
        public readonly string Scope => fileLength > _data.Length ? $"within the first {_data.Length} bytes (MaxHeaderBytes)" : "in the file";

        public void Skip(int n) => Take(n, "the magic");

        public ReadOnlySpan<byte> Take(int n, string what)
        {
            if (n < 0 || n > _data.Length - Position) ThrowShort(n, what);
            var s = _data.Slice(Position, n);
            Position += n;
            return s;
        }

        public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));
        public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        public bool Bool(string key)
        {
            long at = Position;
            byte b = Take(1, key)[0];
            if (b > 1) throw Error(Path, null, key, $"byte {at}: bool value {b} is neither 0 nor 1");
            return b == 1;
        }

        public string String(GgufOptions options, string? tensor, string? key, string what)
        {
            long at = Position;
            ulong length = U64(key is null ? what : $"{what} of key '{key}'");
            if (length > (ulong)options.MaxStringBytes)
                throw Error(Path, tensor, key, $"byte {at}: {what} is a string of {length} bytes, over MaxStringBytes ({options.MaxStringBytes})");
            if (length > (ulong)Remaining)
                throw Error(Path, tensor, key, $"byte {at}: {what} is a string of {length} bytes but only {Remaining} are left" + " " + Scope);
            var bytes = Take((int)length, what);
            try { return StrictUtf8.GetString(bytes); }
            catch (DecoderFallbackException e)
            {
                throw Error(Path, tensor, key, $"byte {at}: {what} is not valid UTF-8 (bad byte at index {e.Index})", e);
            }
        }

        [DoesNotReturn]
        private readonly void ThrowShort(int n, string what)
        {
            if (fileLength > _data.Length)
                throw Error(Path, null, null, $"byte {Position}: {what} lies beyond the first {_data.Length} bytes (MaxHeaderBytes); the header is too large");
            throw Error(Path, null, null, $"byte {Position}: the file ends inside {what} ({n} bytes needed, {_data.Length - Position} left): it is truncated");
        }
    }
}
