using System.Buffers.Binary;
using System.Text;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>Builds GGUF bytes field by field (as the shared data's hostile.py does), so tests can write valid files
/// and break exactly one thing.</summary>
internal sealed class GgufBytes
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public static GgufBytes Header(ulong tensors, ulong kvs, uint version = 3) =>
        new GgufBytes().Raw("GGUF"u8).U32(version).U64(tensors).U64(kvs);

    public GgufBytes Raw(ReadOnlySpan<byte> bytes) { _bytes.AddRange(bytes.ToArray()); return this; }
    public GgufBytes U8(byte v) { _bytes.Add(v); return this; }
    public GgufBytes U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); return Raw(b); }
    public GgufBytes U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return Raw(b); }
    public GgufBytes U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return Raw(b); }
    public GgufBytes F32(float v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, v); return Raw(b); }
    public GgufBytes Str(string s) => StrBytes(Encoding.UTF8.GetBytes(s));
    public GgufBytes StrBytes(byte[] b) => U64((ulong)b.Length).Raw(b);

    public GgufBytes KvU32(string key, uint v) => Str(key).U32(4).U32(v);
    public GgufBytes KvStr(string key, string v) => Str(key).U32(8).Str(v);

    /// <summary>A tensor info: name, dims (ne, fastest first), ggml type, offset.</summary>
    public GgufBytes Tensor(string name, ulong[] ne, uint type, ulong offset)
    {
        Str(name).U32((uint)ne.Length);
        foreach (ulong d in ne) U64(d);
        return U32(type).U64(offset);
    }

    public GgufBytes Pad(int alignment = 32)
    {
        while (_bytes.Count % alignment != 0) _bytes.Add(0);
        return this;
    }

    public GgufBytes Floats(params float[] values)
    {
        foreach (float v in values) F32(v);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    /// <summary>Writes the bytes to a fresh temp file and returns its path.</summary>
    public string Write(string name = "t.gguf")
    {
        string path = Path.Combine(SharedData.TempFolder(), name);
        File.WriteAllBytes(path, ToArray());
        return path;
    }

    /// <summary>The shared data's control file: one F32 tensor [8] and one string key, alignment 32.</summary>
    public static GgufBytes Valid() =>
        Header(1, 1).KvStr("general.architecture", "test").Tensor("w", [8], 0, 0).Pad().Floats(0, 1, 2, 3, 4, 5, 6, 7);
}
