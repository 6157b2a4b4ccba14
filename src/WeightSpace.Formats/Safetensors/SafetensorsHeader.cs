using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;

namespace WeightSpace.Formats.Safetensors;

/// <summary>One tensor of a validated header: its description and its byte range inside the data buffer.</summary>
internal readonly record struct SafetensorsEntry(TensorInfo Info, long Begin, long End);

/// <summary>A safetensors header that passed every check of <see cref="Read"/>; only that method constructs one,
/// so whoever holds it may map the file and slice tensors without checking ranges again.</summary>
/// <remarks>Checks follow huggingface/safetensors <c>safetensors/src/tensor.rs</c> (<c>read_metadata</c>,
/// <c>Metadata::validate</c>): length prefix against the file, UTF-8 JSON under a depth limit, known dtypes, unique
/// names, integer dimensions, then the ranges sorted by offset must tile the buffer with no gap or overlap.</remarks>
internal sealed class SafetensorsHeader
{
    private const string MetadataKey = "__metadata__";

    private SafetensorsHeader(string path, long fileLength, long headerLength, IReadOnlyList<SafetensorsEntry> entries, Dictionary<string, string> metadata, bool hasMetadata)
    {
        Path = path;
        FileLength = fileLength;
        HeaderLength = headerLength;
        Entries = entries;
        Metadata = metadata;
        HasMetadata = hasMetadata;
    }

    public string Path { get; }

    /// <summary>File length in bytes when the header was read; the mapping must see the same length.</summary>
    public long FileLength { get; }

    /// <summary>N, the JSON header's length in bytes (without the 8-byte prefix).</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute file offset of the byte buffer.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>Tensors in byte-buffer order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary><c>__metadata__</c> in file order (empty if absent).</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>True if the header had a <c>__metadata__</c> entry.</summary>
    public bool HasMetadata { get; }

    /// <summary>Reads and validates the header of <paramref name="path"/> without mapping it.</summary>
    /// <exception cref="InvalidCheckpointException">Any check fails, or the file cannot be read to its end.</exception>
    public static SafetensorsHeader Read(string path, SafetensorsOptions options)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw Error(path, null, $"file has {fileLength} bytes; a safetensors file needs at least 8 (the header length)");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, path);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (n > (ulong)options.MaxHeaderBytes)
                throw Error(path, null, $"header length {n} exceeds MaxHeaderBytes ({options.MaxHeaderBytes})");
            if (n > (ulong)(fileLength - 8))
                throw Error(path, null, $"header length {n} runs past the end of the file ({fileLength} bytes, so at most {fileLength - 8})");
            if (n > (ulong)Array.MaxLength)
                throw Error(path, null, $"header length {n} is larger than one buffer can hold");
            var json = GC.AllocateUninitializedArray<byte>((int)n);
            ReadExactly(handle, json, 8, path);
            return Parse(path, fileLength, json, options);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw Error(path, null, $"cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Parses and validates header bytes; <paramref name="fileLength"/> gives the buffer length.</summary>
    internal static SafetensorsHeader Parse(string path, long fileLength, ReadOnlySpan<byte> json, SafetensorsOptions options)
    {
        if (!Utf8.IsValid(json))
            throw Error(path, null, $"header ({json.Length} bytes) is not valid UTF-8");
        long bufferLength = fileLength - 8 - json.Length;

        var entries = new List<SafetensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool hasMetadata = false;
        string? current = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = options.MaxJsonDepth, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Error(path, null, "header is not a JSON object");
            while (true)
            {
                Next(ref reader, path, null);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                current = reader.GetString()!;
                if (!names.Add(current))
                    throw Error(path, current, "appears twice in the header (duplicate name)");
                Next(ref reader, path, current);
                if (current == MetadataKey)
                {
                    hasMetadata = true;
                    ReadMetadata(ref reader, path, metadata);
                }
                else
                {
                    entries.Add(ReadTensor(ref reader, path, current));
                }
                current = null;
            }
            if (reader.Read())
                throw Error(path, null, $"header has content after the JSON object (at byte {reader.TokenStartIndex})");
        }
        catch (JsonException e)
        {
            string detail = e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"header JSON nests deeper than MaxJsonDepth ({options.MaxJsonDepth})"
                : $"header is not valid JSON ({e.Message})";
            throw Error(path, current, detail, e);
        }
        catch (InvalidOperationException e)
        {
            throw Error(path, current, $"header is malformed ({e.Message})", e);
        }

        Validate(path, entries, bufferLength);
        return new SafetensorsHeader(path, fileLength, json.Length, entries, metadata, hasMetadata);
    }

    // Sorted by offset, the ranges must tile [0, bufferLength) exactly: a gap hides data, an overlap lets a tiny file
    // describe huge tensors (safetensors attacks/README.md, proposal 4).
    private static void Validate(string path, List<SafetensorsEntry> entries, long bufferLength)
    {
        entries.Sort(static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (var (info, begin, end) in entries)
        {
            if (end < begin)
                throw Error(path, info.Name, $"data_offsets [{begin}, {end}] end before they begin");
            if (end > bufferLength)
                throw Error(path, info.Name, $"data_offsets [{begin}, {end}] run past the byte buffer ({bufferLength} bytes)");
            if (begin > expected)
                throw Error(path, info.Name, $"data_offsets [{begin}, {end}] leave a gap: the previous tensor ends at {expected}");
            if (begin < expected)
                throw Error(path, info.Name, $"data_offsets [{begin}, {end}] overlap the previous tensor, which ends at {expected}");
            long needed;
            try { needed = info.DType.ByteCount(info.Shape.ElementCount); }
            catch (OverflowException e)
            {
                throw Error(path, info.Name, $"{Describe(info)} needs more than 2^63 bytes", e);
            }
            if (needed != end - begin)
                throw Error(path, info.Name, $"has {end - begin} bytes but {Describe(info)} needs {needed}");
            expected = end;
        }
        if (expected != bufferLength)
            throw Error(path, null, $"tensors end at byte {expected} of the buffer but the buffer has {bufferLength} bytes");
    }

    private static string Describe(TensorInfo info) => info.DType.ToSafetensorsName() + "[" + string.Join(",", info.Shape) + "]";

    private static void ReadMetadata(ref Utf8JsonReader reader, string path, Dictionary<string, string> metadata)
    {
        if (reader.TokenType == JsonTokenType.Null) return;   // the reference's Option<HashMap> accepts null
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Error(path, null, $"__metadata__ must be an object of strings, not {Token(reader.TokenType)}");
        while (true)
        {
            Next(ref reader, path, null);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            string key = reader.GetString()!;
            Next(ref reader, path, null);
            if (reader.TokenType != JsonTokenType.String)
                throw Error(path, null, $"__metadata__ value of '{key}' must be a string, not {Token(reader.TokenType)}");
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw Error(path, null, $"__metadata__ key '{key}' appears twice");
        }
    }

    private static SafetensorsEntry ReadTensor(ref Utf8JsonReader reader, string path, string name)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Error(path, name, $"entry must be an object with dtype, shape and data_offsets, not {Token(reader.TokenType)}");
        DType? dtype = null;
        long[]? shape = null;
        long[]? offsets = null;
        while (true)
        {
            Next(ref reader, path, name);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string field = reader.GetString()!;
            Next(ref reader, path, name);
            switch (field)
            {
                case "dtype":
                    if (dtype is not null) throw Error(path, name, "has two 'dtype' fields");
                    if (reader.TokenType != JsonTokenType.String)
                        throw Error(path, name, $"dtype must be a string, not {Token(reader.TokenType)}");
                    string text = reader.GetString()!;
                    if (!DTypes.TryParseSafetensorsName(text, out var parsed))
                        throw Error(path, name, $"unknown dtype '{text}'");
                    dtype = parsed;
                    break;
                case "shape":
                    if (shape is not null) throw Error(path, name, "has two 'shape' fields");
                    shape = ReadIntegers(ref reader, path, name, "shape");
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Error(path, name, "has two 'data_offsets' fields");
                    offsets = ReadIntegers(ref reader, path, name, "data_offsets");
                    if (offsets.Length != 2)
                        throw Error(path, name, $"data_offsets must hold 2 integers [begin, end], not {offsets.Length}");
                    break;
                default:
                    // The reference deserialiser ignores unknown fields; so do we, within the depth limit.
                    reader.Skip();
                    break;
            }
        }
        if (dtype is null) throw Error(path, name, "has no dtype");
        if (shape is null) throw Error(path, name, "has no shape");
        if (offsets is null) throw Error(path, name, "has no data_offsets");
        Shape parsedShape;
        try { parsedShape = new Shape(shape); }
        catch (ArgumentException e)
        {
            throw Error(path, name, $"shape [{string.Join(",", shape)}] has more than 2^63 elements", e);
        }
        return new SafetensorsEntry(new TensorInfo(name, dtype.Value, parsedShape), offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(ref Utf8JsonReader reader, string path, string name, string field)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Error(path, name, $"{field} must be an array of integers, not {Token(reader.TokenType)}");
        var values = new List<long>(4);
        while (true)
        {
            Next(ref reader, path, name);
            if (reader.TokenType == JsonTokenType.EndArray) return [.. values];
            if (reader.TokenType != JsonTokenType.Number)
                throw Error(path, name, $"{field} must hold integers, found {Token(reader.TokenType)}");
            if (!reader.TryGetInt64(out long value))
                throw Error(path, name, $"{field} value {Encoding.UTF8.GetString(reader.ValueSpan)} is not a 64-bit integer");
            if (value < 0)
                throw Error(path, name, $"{field} value {value} is negative");
            values.Add(value);
        }
    }

    private static void Next(ref Utf8JsonReader reader, string path, string? name)
    {
        if (!reader.Read()) throw Error(path, name, "header JSON ends early");
    }

    private static string Token(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination[done..], offset + done);
            if (n == 0) throw Error(path, null, $"file ends at byte {offset + done}, inside the header");
            done += n;
        }
    }

    internal static InvalidCheckpointException Error(string path, string? tensor, string detail, Exception? inner = null) =>
        new(path, tensor, detail, inner);
}
