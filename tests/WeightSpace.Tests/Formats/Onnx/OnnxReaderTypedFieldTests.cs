using Google.Protobuf;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Onnx.Proto;
using static WeightSpace.Tests.Formats.Onnx.OnnxTestModels;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Typed-field decoding (packed and unpacked), Constant attribute values, unsupported types and the naming
/// rule for duplicate names, on hand-built models with hand-computed values.</summary>
public sealed class OnnxReaderTypedFieldTests
{
    /// <summary>A model whose only initializer is <paramref name="tensor"/>, written byte by byte.</summary>
    private static byte[] ModelAround(byte[] tensor)
    {
        var graph = new MemoryStream();
        var g = new CodedOutputStream(graph);
        g.WriteTag(5, WireFormat.WireType.LengthDelimited);
        g.WriteBytes(ByteString.CopyFrom(tensor));
        g.Flush();
        var model = new MemoryStream();
        var m = new CodedOutputStream(model);
        m.WriteTag(1, WireFormat.WireType.Varint);
        m.WriteInt64(8);
        m.WriteTag(7, WireFormat.WireType.LengthDelimited);
        m.WriteBytes(ByteString.CopyFrom(graph.ToArray()));
        m.Flush();
        return model.ToArray();
    }

    /// <summary>A TensorProto with unpacked dims and one tag per value, as proto2 writers may emit.</summary>
    private static byte[] UnpackedTensor(int dataType, int field, IReadOnlyList<long> values, WireFormat.WireType wire)
    {
        var stream = new MemoryStream();
        var o = new CodedOutputStream(stream);
        o.WriteTag(1, WireFormat.WireType.Varint);
        o.WriteInt64(values.Count);
        o.WriteTag(2, WireFormat.WireType.Varint);
        o.WriteInt32(dataType);
        o.WriteTag(8, WireFormat.WireType.LengthDelimited);
        o.WriteString("t");
        foreach (long v in values)
        {
            o.WriteTag(field, wire);
            switch (wire)
            {
                case WireFormat.WireType.Fixed32: o.WriteFixed32((uint)v); break;
                case WireFormat.WireType.Fixed64: o.WriteFixed64((ulong)v); break;
                default: if (field == 5) o.WriteInt32((int)v); else o.WriteInt64(v); break;
            }
        }
        o.Flush();
        return stream.ToArray();
    }

    public static TheoryData<int, long[], DType, double[]> Int32DataCases => new()
    {
        { 6, [-7, 100_000], DType.I32, [-7, 100_000] },
        { 5, [-2, 300], DType.I16, [-2, 300] },
        { 3, [-1, 5], DType.I8, [-1, 5] },
        { 2, [255, 0], DType.U8, [255, 0] },
        { 9, [0, 3], DType.Bool, [0, 1] },
        { 10, [0x3C00, 0xC000], DType.F16, [1.0, -2.0] },           // binary16 bit patterns
        { 16, [0x3F80, 0x4040], DType.BF16, [1.0, 3.0] },           // bfloat16: upper half of binary32
        { 17, [0x38, 0xC0], DType.F8_E4M3, [1.0, -2.0] },           // e4m3fn: 0.0111.000 = 2^(7-7)
        { 19, [0x3C, 0xB8], DType.F8_E5M2, [1.0, -0.5] },           // e5m2: 0.01111.00 = 2^(15-15)
    };

    [Theory]
    [MemberData(nameof(Int32DataCases))]
    public void Read_Int32DataPacked_DecodesSpecLayout(int dataType, long[] stored, DType dtype, double[] expected)
    {
        var t = new TensorProto { Name = "t", DataType = dataType, Dims = { stored.Length } };
        t.Int32Data.Add(stored.Select(v => (int)v));
        using var model = OnnxReader.Open(Write(Model(t)));
        Assert.Equal(dtype, model.GetInfo("t").DType);
        Assert.Equal(OnnxStorage.TypedField, model.Weights[0].Storage);
        Assert.Equal(expected, model.ReadDouble("t"));
    }

    [Theory]
    [MemberData(nameof(Int32DataCases))]
    public void Read_Int32DataUnpacked_DecodesSpecLayout(int dataType, long[] stored, DType dtype, double[] expected)
    {
        using var model = OnnxReader.Open(Write(ModelAround(UnpackedTensor(dataType, 5, stored, WireFormat.WireType.Varint))));
        Assert.Equal(dtype, model.GetInfo("t").DType);
        Assert.Equal(expected, model.ReadDouble("t"));
    }

    [Fact]
    public void Read_FloatDoubleInt64Unpacked_DecodeExactly()
    {
        long[] floats = [BitConverter.SingleToInt32Bits(1.5f), BitConverter.SingleToInt32Bits(-2f)];
        using (var m = OnnxReader.Open(Write(ModelAround(UnpackedTensor(1, 4, floats, WireFormat.WireType.Fixed32)))))
            Assert.Equal([1.5f, -2f], m.ReadSingle("t"));
        long[] doubles = [BitConverter.DoubleToInt64Bits(0.1), BitConverter.DoubleToInt64Bits(-1e300)];
        using (var m = OnnxReader.Open(Write(ModelAround(UnpackedTensor(11, 10, doubles, WireFormat.WireType.Fixed64)))))
            Assert.Equal([0.1, -1e300], m.ReadDouble("t"));
        using (var m = OnnxReader.Open(Write(ModelAround(UnpackedTensor(7, 7, [-3, 1L << 40, long.MinValue], WireFormat.WireType.Varint)))))
        {
            using var b = m.Read("t");
            Assert.Equal([-3L, 1L << 40, long.MinValue], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(b.Bytes).ToArray());
        }
    }

    [Fact]
    public void Read_PackedFloatAndDouble_DecodeExactly()
    {
        var f = new TensorProto { Name = "f", DataType = 1, Dims = { 2, 2 }, FloatData = { 1, -2, 3.25f, 0 } };
        var d = new TensorProto { Name = "d", DataType = 11, Dims = { 1 }, DoubleData = { Math.PI } };
        using var model = OnnxReader.Open(Write(Model(f, d)));
        Assert.Equal([1f, -2f, 3.25f, 0f], model.ReadSingle("f"));
        Assert.Equal([Math.PI], model.ReadDouble("d"));
    }

    [Fact]
    public void Open_ConstantScalarAndListAttributes_BecomeWeights()
    {
        var model = Model();
        model.Graph.Node.Add(Constant("vf", new AttributeProto { Name = "value_float", Type = AttributeProto.Types.AttributeType.Float, F = 2.5f }));
        model.Graph.Node.Add(Constant("vfs", new AttributeProto { Name = "value_floats", Type = AttributeProto.Types.AttributeType.Floats, Floats = { 1, 2, 3 } }));
        model.Graph.Node.Add(Constant("vi0", new AttributeProto { Name = "value_int", Type = AttributeProto.Types.AttributeType.Int, I = 0 }));
        model.Graph.Node.Add(Constant("vis", new AttributeProto { Name = "value_ints", Type = AttributeProto.Types.AttributeType.Ints, Ints = { -1, 1L << 35 } }));
        model.Graph.Node.Add(Constant("vt", new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Floats("ignored", [1], 9f) }));
        using var m = OnnxReader.Open(Write(model));

        Assert.Equal(["vf", "vfs", "vi0", "vis", "vt"], m.Tensors.Select(t => t.Name));
        Assert.All(m.Weights, w => Assert.Equal(OnnxWeightKind.Constant, w.Kind));
        Assert.Equal(Shape.Scalar, m.GetInfo("vf").Shape);
        Assert.Equal([2.5f], m.ReadSingle("vf"));
        Assert.Equal([1f, 2f, 3f], m.ReadSingle("vfs"));
        Assert.Equal(DType.I64, m.GetInfo("vi0").DType);
        Assert.Equal([0.0], m.ReadDouble("vi0"));               // proto3 omits a zero value_int: still one element
        Assert.Equal([-1.0, 34359738368.0], m.ReadDouble("vis"));
        Assert.Equal([9f], m.ReadSingle("vt"));
        Assert.Equal(OnnxStorage.RawData, m.Weights[4].Storage);
    }

    [Fact]
    public void Open_UnreadableTypes_ListedAsUnsupportedWithReason()
    {
        var model = Model(
            new TensorProto { Name = "u16", DataType = 4, Dims = { 2 }, Int32Data = { 1, 2 } },
            new TensorProto { Name = "str", DataType = 8, Dims = { 1 }, StringData = { ByteString.CopyFromUtf8("hi") } },
            new TensorProto { Name = "c64", DataType = 14, Dims = { 1 }, FloatData = { 1, 2 } },
            Floats("ok", [1], 1f));
        model.Graph.SparseInitializer.Add(new SparseTensorProto { Values = Floats("sparse", [1], 1f), Dims = { 10 } });
        model.Graph.Node.Add(Constant("strs", new AttributeProto { Name = "value_strings", Type = AttributeProto.Types.AttributeType.Strings, Strings = { ByteString.CopyFromUtf8("a") } }));
        using var m = OnnxReader.Open(Write(model));

        Assert.Equal(["ok"], m.Tensors.Select(t => t.Name));
        Assert.Equal(["u16", "str", "c64", "sparse", "strs"], m.Unsupported.Select(u => u.Name));
        Assert.Contains("UINT16 (4)", m.Unsupported[0].Reason);
        Assert.Contains("STRING (8)", m.Unsupported[1].Reason);
        Assert.Contains("COMPLEX64 (14)", m.Unsupported[2].Reason);
        Assert.Contains("sparse", m.Unsupported[3].Reason);
        Assert.Equal([10L], m.Unsupported[3].Dimensions);
        Assert.Equal(OnnxWeightKind.Constant, m.Unsupported[4].Kind);
    }

    [Fact]
    public void Open_SameNameInBothIfBranches_KeepsFirstBarePrefixesLater()
    {
        var model = Model(Floats("w", [1], 1f));
        model.Graph.Node.Add(If("If_0",
            new GraphProto { Name = "then", Initializer = { Floats("w", [1], 2f) } },
            new GraphProto { Name = "else", Initializer = { Floats("w", [1], 3f), Floats("graph/If_0.else_branch/w", [1], 4f) } }));
        using var m = OnnxReader.Open(Write(model));

        Assert.Equal(["w", "graph/If_0.then_branch/w", "graph/If_0.else_branch/w", "graph/If_0.else_branch/graph/If_0.else_branch/w"],
            m.Tensors.Select(t => t.Name));
        Assert.All(m.Weights.Take(3), w => Assert.Equal("w", w.OnnxName));
        Assert.Equal([1f, 2f, 3f, 4f], m.Tensors.Select(t => m.ReadSingle(t.Name)[0]));
    }

    [Fact]
    public void Open_NameCollidingWithPrefixedName_GetsCounterSuffix()
    {
        var model = Model(Floats("graph/If_0.then_branch/w", [1], 0f), Floats("w", [1], 1f));
        model.Graph.Node.Add(If("If_0", new GraphProto { Initializer = { Floats("w", [1], 2f) } }, new GraphProto()));
        using var m = OnnxReader.Open(Write(model));
        Assert.Equal(["graph/If_0.then_branch/w", "w", "graph/If_0.then_branch/w#2"], m.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Open_Metadata_CarriesModelFieldsAndProps()
    {
        var model = Model(Floats("w", [1], 1f));
        model.ProducerVersion = "1.2";
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "author", Value = "me" });
        using var m = OnnxReader.Open(Write(model));
        Assert.Equal("me", m.Metadata["author"]);
        Assert.Equal("weightspace-tests", m.Metadata["onnx.producer_name"]);
        Assert.Equal("1.2", m.Metadata["onnx.producer_version"]);
        Assert.Equal("ai.onnx:16,com.microsoft:1", m.Metadata["onnx.opset_import"]);
        Assert.Equal([new KeyValuePair<string, string>("author", "me")], m.MetadataProps);
    }
}
