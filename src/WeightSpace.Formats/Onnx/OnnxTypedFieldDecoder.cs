using Google.Protobuf;

namespace WeightSpace.Formats.Onnx;

/// <summary>Counts (at open) and decodes (at read) values stored in typed repeated fields rather than raw_data.
/// Both packed and unpacked encodings are accepted: proto2 writers (the onnx Python package) may emit either.</summary>
internal static class OnnxTypedFieldDecoder
{
    private enum Encoding { Fixed32, Fixed64, Varint }

    private static (int FieldNumber, Encoding Encoding, bool Singular) Describe(TypedField field) => field switch
    {
        TypedField.FloatData => (4, Encoding.Fixed32, false),
        TypedField.Int32Data => (5, Encoding.Varint, false),
        TypedField.Int64Data => (7, Encoding.Varint, false),
        TypedField.DoubleData => (10, Encoding.Fixed64, false),
        TypedField.UInt64Data => (11, Encoding.Varint, false),
        TypedField.AttributeFloat => (2, Encoding.Fixed32, true),
        TypedField.AttributeInt => (3, Encoding.Varint, true),
        TypedField.AttributeFloats => (7, Encoding.Fixed32, false),
        TypedField.AttributeInts => (8, Encoding.Varint, false),
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    /// <summary>Number of values of <paramref name="field"/> in <paramref name="message"/>, checking every packed run.</summary>
    public static long Count(ReadOnlySpan<byte> message, TypedField field)
    {
        var (number, encoding, singular) = Describe(field);
        if (singular) return 1;   // proto3 omits a zero scalar, and the last occurrence wins: always one value.
        long count = 0;
        var reader = new ProtoSpanReader(message, 0);
        while (reader.TryReadTag(out int n, out var wt))
        {
            if (n != number)
            {
                reader.Skip(wt);
                continue;
            }
            count += CountOccurrence(ref reader, wt, encoding, number);
        }
        return count;
    }

    private static long CountOccurrence(ref ProtoSpanReader reader, WireFormat.WireType wt, Encoding encoding, int number)
    {
        if (wt == WireFormat.WireType.LengthDelimited)
        {
            var packed = reader.ReadLengthDelimited(out _);
            switch (encoding)
            {
                case Encoding.Fixed32:
                    if (packed.Length % 4 != 0) throw ProtoSpanReader.Error($"packed field {number} has {packed.Length} bytes, not a multiple of 4");
                    return packed.Length / 4;
                case Encoding.Fixed64:
                    if (packed.Length % 8 != 0) throw ProtoSpanReader.Error($"packed field {number} has {packed.Length} bytes, not a multiple of 8");
                    return packed.Length / 8;
                default:
                {
                    long c = 0;
                    var run = new ProtoSpanReader(packed, 0);
                    while (!run.AtEnd) { run.ReadVarint(); c++; }
                    return c;
                }
            }
        }
        ProtoSpanReader.Expect(wt, ExpectedWireType(encoding), $"{number}");
        reader.Skip(wt);
        return 1;
    }

    private static WireFormat.WireType ExpectedWireType(Encoding e) => e switch
    {
        Encoding.Fixed32 => WireFormat.WireType.Fixed32,
        Encoding.Fixed64 => WireFormat.WireType.Fixed64,
        _ => WireFormat.WireType.Varint,
    };

    /// <summary>Writes every value of <paramref name="field"/> as little-endian <paramref name="dtype"/> elements into
    /// <paramref name="destination"/>, which holds exactly the counted number of elements.</summary>
    public static void Decode(ReadOnlySpan<byte> message, TypedField field, DType dtype, Span<byte> destination)
    {
        var (number, encoding, singular) = Describe(field);
        int size = dtype.SizeInBytes();
        int index = 0;
        var reader = new ProtoSpanReader(message, 0);
        if (singular) destination.Clear();
        while (reader.TryReadTag(out int n, out var wt))
        {
            if (n != number)
            {
                reader.Skip(wt);
                continue;
            }
            if (singular) index = 0;
            if (wt == WireFormat.WireType.LengthDelimited)
            {
                var run = new ProtoSpanReader(reader.ReadLengthDelimited(out _), 0);
                while (!run.AtEnd) Write(ref run, encoding, dtype, size, destination, ref index);
            }
            else
            {
                ProtoSpanReader.Expect(wt, ExpectedWireType(encoding), $"{number}");
                Write(ref reader, encoding, dtype, size, destination, ref index);
            }
        }
        if (!singular && index * size != destination.Length)
            throw ProtoSpanReader.Error($"typed field {number} holds {index} values; {destination.Length / size} expected");
    }

    private static void Write(ref ProtoSpanReader reader, Encoding encoding, DType dtype, int size, Span<byte> destination, ref int index)
    {
        if ((index + 1) * size > destination.Length)
            throw ProtoSpanReader.Error($"typed field holds more than the {destination.Length / size} values its dims declare");
        var slot = destination.Slice(index * size, size);
        index++;
        switch (encoding)
        {
            case Encoding.Fixed32:
                BinaryPrimitives.WriteUInt32LittleEndian(slot, reader.ReadFixed32());
                return;
            case Encoding.Fixed64:
                BinaryPrimitives.WriteUInt64LittleEndian(slot, reader.ReadFixed64());
                return;
        }
        ulong value = reader.ReadVarint();
        switch (dtype)
        {
            case DType.I64: BinaryPrimitives.WriteInt64LittleEndian(slot, (long)value); break;
            case DType.I32: BinaryPrimitives.WriteInt32LittleEndian(slot, (int)value); break;
            // 16-bit floats travel as their bit pattern in the low 16 bits of an int32 (ONNX spec, int32_data).
            case DType.I16 or DType.F16 or DType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)value); break;
            case DType.Bool: slot[0] = value != 0 ? (byte)1 : (byte)0; break;
            default: slot[0] = (byte)value; break;   // I8, U8 and both float8 types: the low byte.
        }
    }
}
