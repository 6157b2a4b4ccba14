using Google.Protobuf;
using WeightSpace.Formats.Onnx.Proto;

namespace WeightSpace.Formats.Onnx;

internal sealed partial class OnnxModelWalker
{
    private sealed class AttributeData
    {
        public string Name = "";
        public OnnxAttributeType Type;
        public bool TypeGiven;
        public Range? Tensor;
        public Range? Graph;
        public readonly List<Range> Graphs = [];
        public readonly List<long> Ints = [];
        public readonly List<float> Floats = [];
        public readonly List<string> Strings = [];
        public bool HasFloat, HasInt, HasString, HasTensors, HasSparse, HasFloats, HasInts, HasStrings, HasTypeProto;
    }

    private static AttributeData ReadAttribute(ReadOnlySpan<byte> file, Range range, bool keepValues)
    {
        var a = new AttributeData();
        var reader = Open(file, range);
        while (reader.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: ExpectBytes(wt, "AttributeProto.name"); a.Name = reader.ReadString(); break;
                case 20:
                    ProtoSpanReader.Expect(wt, WireFormat.WireType.Varint, "AttributeProto.type");
                    a.Type = (OnnxAttributeType)(int)reader.ReadVarint();
                    a.TypeGiven = true;
                    break;
                case 2:
                    ProtoSpanReader.Expect(wt, WireFormat.WireType.Fixed32, "AttributeProto.f");
                    float f = BitConverter.UInt32BitsToSingle(reader.ReadFixed32());
                    a.HasFloat = true;
                    if (keepValues) { a.Floats.Clear(); a.Floats.Add(f); }
                    break;
                case 3:
                    ProtoSpanReader.Expect(wt, WireFormat.WireType.Varint, "AttributeProto.i");
                    long i = (long)reader.ReadVarint();
                    a.HasInt = true;
                    if (keepValues) { a.Ints.Clear(); a.Ints.Add(i); }
                    break;
                case 4:
                    ExpectBytes(wt, "AttributeProto.s");
                    string s = reader.ReadString();
                    a.HasString = true;
                    if (keepValues) { a.Strings.Clear(); a.Strings.Add(s); }
                    break;
                case 5: ExpectBytes(wt, "AttributeProto.t"); a.Tensor = ReadRange(ref reader); break;
                case 6: ExpectBytes(wt, "AttributeProto.g"); a.Graph = ReadRange(ref reader); break;
                case 7:
                    a.HasFloats = true;
                    if (keepValues) reader.ReadFloats(wt, a.Floats, "AttributeProto.floats");
                    else reader.Skip(wt);
                    break;
                case 8:
                    a.HasInts = true;
                    if (keepValues) reader.ReadInt64s(wt, a.Ints, "AttributeProto.ints");
                    else reader.Skip(wt);
                    break;
                case 9:
                    ExpectBytes(wt, "AttributeProto.strings");
                    a.HasStrings = true;
                    string item = reader.ReadString();
                    if (keepValues) a.Strings.Add(item);
                    break;
                case 10: ExpectBytes(wt, "AttributeProto.tensors"); a.HasTensors = true; reader.Skip(wt); break;
                case 11: ExpectBytes(wt, "AttributeProto.graphs"); a.Graphs.Add(ReadRange(ref reader)); break;
                case 22 or 23: a.HasSparse = true; reader.Skip(wt); break;
                case 14 or 15: a.HasTypeProto = true; reader.Skip(wt); break;
                default: reader.Skip(wt); break;
            }
        }
        if (!a.TypeGiven) a.Type = InferType(a);
        return a;
    }

    // IR version 1 files may omit AttributeProto.type; the field present tells.
    private static OnnxAttributeType InferType(AttributeData a) =>
        a.HasFloat ? OnnxAttributeType.Float
        : a.HasInt ? OnnxAttributeType.Int
        : a.HasString ? OnnxAttributeType.String
        : a.Tensor is not null ? OnnxAttributeType.Tensor
        : a.Graph is not null ? OnnxAttributeType.Graph
        : a.HasFloats ? OnnxAttributeType.Floats
        : a.HasInts ? OnnxAttributeType.Ints
        : a.HasStrings ? OnnxAttributeType.Strings
        : a.HasTensors ? OnnxAttributeType.Tensors
        : a.Graphs.Count > 0 ? OnnxAttributeType.Graphs
        : a.HasSparse ? OnnxAttributeType.SparseTensor
        : a.HasTypeProto ? OnnxAttributeType.TypeProto
        : OnnxAttributeType.Undefined;

    private void ReadConstantAttribute(ReadOnlySpan<byte> file, Range attrRange, AttributeData attr, List<string> outputs,
        string graphPath, string nodeName)
    {
        if (attr.Name is not ("value" or "value_float" or "value_floats" or "value_int" or "value_ints" or "sparse_value"
            or "value_string" or "value_strings"))
            return;
        if (outputs.Count == 0 || outputs[0].Length == 0)
            throw new InvalidCheckpointException(path, null,
                $"Constant node '{nodeName}' in {graphPath} has no output name for its '{attr.Name}' attribute");
        string output = outputs[0];
        var attrSpan = file.Slice((int)attrRange.Offset, attrRange.Length);
        switch (attr.Name)
        {
            case "value":
                if (attr.Tensor is not { } tensor)
                    throw new InvalidCheckpointException(path, output, $"Constant in {graphPath} has a 'value' attribute without a tensor");
                ReadTensor(file, tensor, graphPath, OnnxWeightKind.Constant, output);
                break;
            case "value_float":
                AddTyped(output, graphPath, DType.F32, OnnxDataTypes.Float, Shape.Scalar, TypedField.AttributeFloat, attrRange);
                break;
            case "value_int":
                AddTyped(output, graphPath, DType.I64, OnnxDataTypes.Int64, Shape.Scalar, TypedField.AttributeInt, attrRange);
                break;
            case "value_floats":
                AddTyped(output, graphPath, DType.F32, OnnxDataTypes.Float,
                    new Shape(CountTyped(output, attrSpan, TypedField.AttributeFloats)), TypedField.AttributeFloats, attrRange);
                break;
            case "value_ints":
                AddTyped(output, graphPath, DType.I64, OnnxDataTypes.Int64,
                    new Shape(CountTyped(output, attrSpan, TypedField.AttributeInts)), TypedField.AttributeInts, attrRange);
                break;
            case "sparse_value":
                AddUnsupported(output, graphPath, OnnxWeightKind.Constant, 0, [], "sparse Constant (sparse_value): sparse tensors are not read");
                break;
            default:
                AddUnsupported(output, graphPath, OnnxWeightKind.Constant, OnnxDataTypes.String, [],
                    $"string Constant ({attr.Name}): strings have no WeightSpace dtype");
                break;
        }
    }

    private long CountTyped(string tensorName, ReadOnlySpan<byte> message, TypedField field)
    {
        try
        {
            return OnnxTypedFieldDecoder.Count(message, field);
        }
        catch (ProtoFormatException e)
        {
            throw new InvalidCheckpointException(path, tensorName, e.Message, e);
        }
    }

    private void AddTyped(string onnxName, string graphPath, DType dtype, int code, Shape shape, TypedField field, Range message)
    {
        var info = new TensorInfo(UniqueName(onnxName, graphPath), dtype, shape);
        AddRecord(new OnnxTensorRecord(
            new OnnxWeight(info, onnxName, graphPath, OnnxWeightKind.Constant, OnnxStorage.TypedField, code, null),
            new OnnxBytesLocation { MessageOffset = message.Offset, MessageLength = message.Length, Field = field }));
    }

    private void AddRecord(OnnxTensorRecord record)
    {
        CheckTensorCount();
        Records.Add(record);
    }

    private void AddUnsupported(string name, string graphPath, OnnxWeightKind kind, int code, long[] dims, string reason)
    {
        CheckTensorCount();
        Unsupported.Add(new OnnxUnsupportedTensor(name, graphPath, kind, code, dims, reason));
    }

    private void CheckTensorCount()
    {
        if (Records.Count + Unsupported.Count >= options.MaxTensors)
            throw new InvalidCheckpointException(path, null, $"more than {options.MaxTensors} tensors (OnnxOptions.MaxTensors)");
    }

    /// <summary>Store names are unique: the first tensor to use an ONNX name keeps it bare; a later one with the same
    /// name (e.g. in the other branch of an If) becomes <c>{graph path}/{name}</c>, then <c>{graph path}/{name}#2</c>, ….
    /// The walk order is fixed, so two exports of one architecture get the same names.</summary>
    private string UniqueName(string onnxName, string graphPath)
    {
        if (onnxName.Length > 0 && _usedNames.Add(onnxName)) return onnxName;
        string candidate = $"{graphPath}/{onnxName}";
        for (int k = 2; !_usedNames.Add(candidate); k++) candidate = $"{graphPath}/{onnxName}#{k}";
        return candidate;
    }

    private sealed class TensorHeader
    {
        public readonly List<long> Dims = [];
        public int DataType;
        public string Name = "";
        public bool HasRaw;
        public long RawOffset;
        public int RawLength;
        public readonly HashSet<int> TypedFields = [];
        public int DataLocation;
        public readonly List<KeyValuePair<string, string>> External = [];
        public bool HasSegment;
    }

    private static TensorHeader ReadTensorHeader(ReadOnlySpan<byte> file, Range range)
    {
        var h = new TensorHeader();
        var reader = Open(file, range);
        while (reader.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: reader.ReadInt64s(wt, h.Dims, "TensorProto.dims"); break;
                case 2:
                    ProtoSpanReader.Expect(wt, WireFormat.WireType.Varint, "TensorProto.data_type");
                    h.DataType = (int)reader.ReadVarint();
                    break;
                case 3: h.HasSegment = true; reader.Skip(wt); break;
                case 4 or 5 or 6 or 7 or 10 or 11: h.TypedFields.Add(field); reader.Skip(wt); break;
                case 8: ExpectBytes(wt, "TensorProto.name"); h.Name = reader.ReadString(); break;
                case 9:
                {
                    ExpectBytes(wt, "TensorProto.raw_data");
                    var raw = reader.ReadLengthDelimited(out long offset);
                    h.HasRaw = true;
                    h.RawOffset = offset;
                    h.RawLength = raw.Length;
                    break;
                }
                case 13:
                {
                    ExpectBytes(wt, "TensorProto.external_data");
                    var entry = StringStringEntryProto.Parser.ParseFrom(reader.ReadLengthDelimited(out _));
                    h.External.Add(new(entry.Key, entry.Value));
                    break;
                }
                case 14:
                    ProtoSpanReader.Expect(wt, WireFormat.WireType.Varint, "TensorProto.data_location");
                    h.DataLocation = (int)reader.ReadVarint();
                    break;
                default: reader.Skip(wt); break;
            }
        }
        return h;
    }

    private void ReadSparseInitializer(ReadOnlySpan<byte> file, Range range, string graphPath)
    {
        string name = "";
        List<long> dims = [];
        var reader = Open(file, range);
        while (reader.TryReadTag(out int field, out var wt))
        {
            if (field == 1 && wt == WireFormat.WireType.LengthDelimited) name = ReadTensorHeader(file, ReadRange(ref reader)).Name;
            else if (field == 3) reader.ReadInt64s(wt, dims, "SparseTensorProto.dims");
            else reader.Skip(wt);
        }
        AddUnsupported(name, graphPath, OnnxWeightKind.Initializer, 0, [.. dims], "sparse initializer: sparse tensors are not read");
    }

    /// <summary>Validates one TensorProto and records it as a weight or as unsupported; returns its ONNX name.</summary>
    private string ReadTensor(ReadOnlySpan<byte> file, Range range, string graphPath, OnnxWeightKind kind, string? nameOverride)
    {
        TensorHeader h;
        try
        {
            h = ReadTensorHeader(file, range);
        }
        catch (ProtoFormatException e)
        {
            throw new InvalidCheckpointException(path, nameOverride, $"malformed TensorProto in {graphPath}: {e.Message}", e);
        }
        string onnxName = nameOverride ?? h.Name;
        string typeName = $"{OnnxDataTypes.Name(h.DataType)} ({h.DataType})";
        if (!OnnxDataTypes.TryToDType(h.DataType, out var dtype))
        {
            AddUnsupported(onnxName, graphPath, kind, h.DataType, [.. h.Dims], $"data type {typeName} has no WeightSpace dtype");
            return onnxName;
        }
        if (h.HasSegment)
        {
            AddUnsupported(onnxName, graphPath, kind, h.DataType, [.. h.Dims], "segmented tensor (TensorProto.segment) is not read");
            return onnxName;
        }

        Shape shape;
        long byteCount;
        try
        {
            shape = new Shape(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(h.Dims));
            byteCount = dtype.ByteCount(shape.ElementCount);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw new InvalidCheckpointException(path, onnxName, $"dims [{string.Join(", ", h.Dims)}] of {typeName} are invalid: {e.Message}", e);
        }
        var info = new TensorInfo(onnxName, dtype, shape);
        string describe = $"{dtype.ToSafetensorsName()}{shape}";

        if (h.DataLocation == 1)
        {
            if (h.HasRaw || h.TypedFields.Count > 0)
                throw new InvalidCheckpointException(path, onnxName, "is marked EXTERNAL but also holds inline data");
            var (mapped, data) = externalFiles.Resolve(onnxName, h.External, byteCount);
            AddWeight(info, graphPath, kind, OnnxStorage.External, h.DataType, data, new OnnxBytesLocation { DataOffset = data.Offset ?? 0, ExternalFile = mapped });
            return onnxName;
        }
        if (h.DataLocation != 0)
            throw new InvalidCheckpointException(path, onnxName, $"data_location {h.DataLocation} is neither DEFAULT (0) nor EXTERNAL (1)");

        if (h.HasRaw)
        {
            if (h.TypedFields.Count > 0)
                throw new InvalidCheckpointException(path, onnxName, $"holds both raw_data and typed field {FieldName(h.TypedFields.First())}");
            if (h.RawLength != byteCount)
                throw new InvalidCheckpointException(path, onnxName, $"raw_data has {h.RawLength} bytes but {describe} needs {byteCount}");
            AddWeight(info, graphPath, kind, OnnxStorage.RawData, h.DataType, null, new OnnxBytesLocation { DataOffset = h.RawOffset });
            return onnxName;
        }

        var expected = OnnxDataTypes.FieldFor(h.DataType);
        foreach (int present in h.TypedFields)
        {
            if (present != (int)expected)
                throw new InvalidCheckpointException(path, onnxName,
                    $"{typeName} values are in {FieldName(present)}; the ONNX spec puts them in {FieldName((int)expected)}");
        }
        long count = h.TypedFields.Count == 0 ? 0 : CountTyped(onnxName, file.Slice((int)range.Offset, range.Length), expected);
        if (count != shape.ElementCount)
        {
            string where = h.TypedFields.Count == 0 ? "no raw_data, typed values or external data" : $"{count} values in {FieldName((int)expected)}";
            throw new InvalidCheckpointException(path, onnxName, $"has {where} but {describe} has {shape.ElementCount} elements");
        }
        if (count == 0)
        {
            AddWeight(info, graphPath, kind, OnnxStorage.Empty, h.DataType, null, new OnnxBytesLocation());
            return onnxName;
        }
        if (byteCount > Array.MaxLength)
            throw new InvalidCheckpointException(path, onnxName, $"{describe} needs {byteCount} bytes decoded, more than one array holds");
        AddWeight(info, graphPath, kind, OnnxStorage.TypedField, h.DataType, null,
            new OnnxBytesLocation { MessageOffset = range.Offset, MessageLength = range.Length, Field = expected });
        return onnxName;
    }

    private void AddWeight(TensorInfo info, string graphPath, OnnxWeightKind kind, OnnxStorage storage, int code,
        OnnxExternalData? external, OnnxBytesLocation where)
    {
        var unique = info with { Name = UniqueName(info.Name, graphPath) };
        AddRecord(new OnnxTensorRecord(new OnnxWeight(unique, info.Name, graphPath, kind, storage, code, external), where));
    }

    private static string FieldName(int field) => field switch
    {
        4 => "float_data",
        5 => "int32_data",
        6 => "string_data",
        7 => "int64_data",
        10 => "double_data",
        11 => "uint64_data",
        _ => $"field {field}",
    };
}
