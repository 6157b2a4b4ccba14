using Google.Protobuf;

namespace WeightSpace.Formats.Onnx;

/// <summary>Raised by <see cref="ProtoSpanReader"/> on malformed wire data; converted to
/// <see cref="InvalidCheckpointException"/> (with file and tensor) where the reader is called.</summary>
internal sealed class ProtoFormatException(string message) : Exception(message);

/// <summary>Reads protobuf wire format from a span of a memory-mapped file without copying, remembering absolute file
/// offsets so length-delimited fields (raw_data) can be recorded as byte ranges instead of being read.</summary>
/// <remarks>Every length is checked against the bytes left before anything is sliced; groups (wire types 3 and 4)
/// are rejected because no ONNX message uses them.</remarks>
internal ref struct ProtoSpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly long _baseOffset;
    private int _position;

    public ProtoSpanReader(ReadOnlySpan<byte> data, long baseOffset)
    {
        _data = data;
        _baseOffset = baseOffset;
        _position = 0;
    }

    public readonly bool AtEnd => _position >= _data.Length;

    /// <summary>Absolute offset in the file of the next unread byte.</summary>
    public readonly long FileOffset => _baseOffset + _position;

    /// <summary>Reads the next tag; false at the end of the message.</summary>
    public bool TryReadTag(out int fieldNumber, out WireFormat.WireType wireType)
    {
        if (AtEnd)
        {
            fieldNumber = 0;
            wireType = default;
            return false;
        }
        ulong tag = ReadVarint();
        if (tag > uint.MaxValue) throw Error("tag does not fit 32 bits");
        fieldNumber = WireFormat.GetTagFieldNumber((uint)tag);
        wireType = WireFormat.GetTagWireType((uint)tag);
        if (fieldNumber == 0) throw Error("field number 0");
        if (wireType is WireFormat.WireType.StartGroup or WireFormat.WireType.EndGroup)
            throw Error($"group wire type in field {fieldNumber}");
        if ((int)wireType > 5) throw Error($"wire type {(int)wireType} in field {fieldNumber}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length) throw Error("varint runs past the end of its message");
            byte b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw Error("varint longer than 10 bytes");
    }

    public uint ReadFixed32()
    {
        if (_data.Length - _position < 4) throw Error("fixed32 runs past the end of its message");
        uint v = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_data.Slice(_position, 4));
        _position += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        if (_data.Length - _position < 8) throw Error("fixed64 runs past the end of its message");
        ulong v = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return v;
    }

    /// <summary>Reads a length-delimited field; <paramref name="fileOffset"/> is where its payload starts in the file.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(out long fileOffset)
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
            throw Error($"length {length} runs past the end of its message ({_data.Length - _position} bytes left)");
        fileOffset = FileOffset;
        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadLengthDelimited(out _));

    /// <summary>Expects <paramref name="actual"/> to be <paramref name="expected"/> for field <paramref name="field"/>.</summary>
    public static void Expect(WireFormat.WireType actual, WireFormat.WireType expected, string field)
    {
        if (actual != expected) throw Error($"field {field} has wire type {actual}, expected {expected}");
    }

    public void Skip(WireFormat.WireType wireType)
    {
        switch (wireType)
        {
            case WireFormat.WireType.Varint: ReadVarint(); break;
            case WireFormat.WireType.Fixed64: ReadFixed64(); break;
            case WireFormat.WireType.Fixed32: ReadFixed32(); break;
            case WireFormat.WireType.LengthDelimited: ReadLengthDelimited(out _); break;
            default: throw Error($"cannot skip wire type {wireType}");
        }
    }

    /// <summary>Reads a repeated int64 field element: either one varint or a packed run of them.</summary>
    public void ReadInt64s(WireFormat.WireType wireType, List<long> into, string field)
    {
        if (wireType == WireFormat.WireType.Varint)
        {
            into.Add((long)ReadVarint());
            return;
        }
        Expect(wireType, WireFormat.WireType.LengthDelimited, field);
        var packed = new ProtoSpanReader(ReadLengthDelimited(out long offset), offset);
        while (!packed.AtEnd) into.Add((long)packed.ReadVarint());
    }

    /// <summary>Reads a repeated float field element: either one fixed32 or a packed run of them.</summary>
    public void ReadFloats(WireFormat.WireType wireType, List<float> into, string field)
    {
        if (wireType == WireFormat.WireType.Fixed32)
        {
            into.Add(BitConverter.UInt32BitsToSingle(ReadFixed32()));
            return;
        }
        Expect(wireType, WireFormat.WireType.LengthDelimited, field);
        var packed = ReadLengthDelimited(out _);
        if (packed.Length % 4 != 0) throw Error($"packed {field} has {packed.Length} bytes, not a multiple of 4");
        for (int i = 0; i < packed.Length; i += 4)
            into.Add(System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(packed.Slice(i, 4)));
    }

    public static ProtoFormatException Error(string detail) => new(detail);
}
