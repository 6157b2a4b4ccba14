using Google.Protobuf;
using WeightSpace.Formats.Onnx.Proto;

namespace WeightSpace.Formats.Onnx;

/// <summary>Walks a memory-mapped ModelProto: graph → initializers and nodes → attributes → subgraphs, recursively.
/// For each weight it records the header fields and the byte range of its data, so nothing but metadata stays in
/// memory. Small messages (opset imports, key/value entries, value infos) go through the generated classes.</summary>
/// <remarks>Weight order follows the ONNX Python reference walk the shared expected files were written with: per
/// graph, all initializers, then the nodes in order (a Constant's value, then the node's subgraphs, depth first).</remarks>
internal sealed partial class OnnxModelWalker(string path, OnnxOptions options, OnnxExternalFiles externalFiles)
{
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);
    private int _nodeCount;

    public List<OnnxTensorRecord> Records { get; } = [];
    public List<OnnxUnsupportedTensor> Unsupported { get; } = [];
    public long IrVersion { get; private set; }
    public string ProducerName { get; private set; } = "";
    public string ProducerVersion { get; private set; } = "";
    public string Domain { get; private set; } = "";
    public long ModelVersion { get; private set; }
    public List<OnnxOpsetImport> OpsetImports { get; } = [];
    public List<KeyValuePair<string, string>> MetadataProps { get; } = [];
    public OnnxGraph? Graph { get; private set; }

    private readonly record struct Range(long Offset, int Length);

    public void WalkModel(ReadOnlySpan<byte> file)
    {
        var reader = new ProtoSpanReader(file, 0);
        Range? graph = null;
        while (reader.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: ProtoSpanReader.Expect(wt, WireFormat.WireType.Varint, "ModelProto.ir_version"); IrVersion = (long)reader.ReadVarint(); break;
                case 2: ExpectBytes(wt, "ModelProto.producer_name"); ProducerName = reader.ReadString(); break;
                case 3: ExpectBytes(wt, "ModelProto.producer_version"); ProducerVersion = reader.ReadString(); break;
                case 4: ExpectBytes(wt, "ModelProto.domain"); Domain = reader.ReadString(); break;
                case 5: ProtoSpanReader.Expect(wt, WireFormat.WireType.Varint, "ModelProto.model_version"); ModelVersion = (long)reader.ReadVarint(); break;
                case 7:
                    ExpectBytes(wt, "ModelProto.graph");
                    if (graph is not null) throw ProtoSpanReader.Error("ModelProto has more than one graph field");
                    graph = ReadRange(ref reader);
                    break;
                case 8:
                {
                    ExpectBytes(wt, "ModelProto.opset_import");
                    var opset = OperatorSetIdProto.Parser.ParseFrom(reader.ReadLengthDelimited(out _));
                    OpsetImports.Add(new OnnxOpsetImport(opset.Domain, opset.Version));
                    break;
                }
                case 14:
                {
                    ExpectBytes(wt, "ModelProto.metadata_props");
                    var entry = StringStringEntryProto.Parser.ParseFrom(reader.ReadLengthDelimited(out _));
                    MetadataProps.Add(new(entry.Key, entry.Value));
                    break;
                }
                default: reader.Skip(wt); break;
            }
        }
        if (graph is null) throw ProtoSpanReader.Error("ModelProto has no graph");
        WalkGraph(file, graph.Value, "graph", depth: 0);
    }

    private void WalkGraph(ReadOnlySpan<byte> file, Range range, string graphPath, int depth)
    {
        List<Range> nodes = [], initializers = [], sparse = [], inputs = [], outputs = [];
        string name = "";
        var reader = Open(file, range);
        while (reader.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: ExpectBytes(wt, "GraphProto.node"); nodes.Add(ReadRange(ref reader)); break;
                case 2: ExpectBytes(wt, "GraphProto.name"); name = reader.ReadString(); break;
                case 5: ExpectBytes(wt, "GraphProto.initializer"); initializers.Add(ReadRange(ref reader)); break;
                case 11: ExpectBytes(wt, "GraphProto.input"); inputs.Add(ReadRange(ref reader)); break;
                case 12: ExpectBytes(wt, "GraphProto.output"); outputs.Add(ReadRange(ref reader)); break;
                case 15: ExpectBytes(wt, "GraphProto.sparse_initializer"); sparse.Add(ReadRange(ref reader)); break;
                default: reader.Skip(wt); break;
            }
        }
        _nodeCount += nodes.Count;
        if (_nodeCount > options.MaxNodes)
            throw new InvalidCheckpointException(path, null, $"more than {options.MaxNodes} nodes (OnnxOptions.MaxNodes) at {graphPath}");

        List<string>? initializerNames = depth == 0 ? [] : null;
        foreach (var init in initializers)
        {
            string? onnxName = ReadTensor(file, init, graphPath, OnnxWeightKind.Initializer, nameOverride: null);
            initializerNames?.Add(onnxName ?? "");
        }
        foreach (var s in sparse) ReadSparseInitializer(file, s, graphPath);

        List<OnnxNode>? topNodes = depth == 0 ? [] : null;
        foreach (var node in nodes)
        {
            var walked = WalkNode(file, node, graphPath, depth);
            topNodes?.Add(walked);
        }

        if (depth == 0)
        {
            var inputInfos = new OnnxValueInfo[inputs.Count];
            for (int i = 0; i < inputs.Count; i++) inputInfos[i] = ReadValueInfo(file, inputs[i]);
            var outputInfos = new OnnxValueInfo[outputs.Count];
            for (int i = 0; i < outputs.Count; i++) outputInfos[i] = ReadValueInfo(file, outputs[i]);
            Graph = new OnnxGraph(name, topNodes!, inputInfos, outputInfos, initializerNames!);
        }
    }

    private OnnxNode WalkNode(ReadOnlySpan<byte> file, Range range, string graphPath, int depth)
    {
        List<string> inputs = [], outputs = [];
        List<Range> attributes = [];
        string name = "", opType = "", domain = "";
        var reader = Open(file, range);
        while (reader.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: ExpectBytes(wt, "NodeProto.input"); inputs.Add(reader.ReadString()); break;
                case 2: ExpectBytes(wt, "NodeProto.output"); outputs.Add(reader.ReadString()); break;
                case 3: ExpectBytes(wt, "NodeProto.name"); name = reader.ReadString(); break;
                case 4: ExpectBytes(wt, "NodeProto.op_type"); opType = reader.ReadString(); break;
                case 5: ExpectBytes(wt, "NodeProto.attribute"); attributes.Add(ReadRange(ref reader)); break;
                case 7: ExpectBytes(wt, "NodeProto.domain"); domain = reader.ReadString(); break;
                default: reader.Skip(wt); break;
            }
        }

        bool isConstant = opType == "Constant" && domain is "" or "ai.onnx";
        bool keepAttributes = depth == 0;
        var attributeList = new List<OnnxAttribute>(keepAttributes ? attributes.Count : 0);
        string owner = name.Length > 0 ? name : opType;
        foreach (var attrRange in attributes)
        {
            var attr = ReadAttribute(file, attrRange, keepAttributes);
            if (isConstant) ReadConstantAttribute(file, attrRange, attr, outputs, graphPath, name);

            List<string> subgraphPaths = [];
            if (attr.Graph is { } g)
            {
                string sub = $"{graphPath}/{owner}.{attr.Name}";
                subgraphPaths.Add(sub);
                WalkSubgraph(file, g, sub, depth);
            }
            for (int i = 0; i < attr.Graphs.Count; i++)
            {
                string sub = $"{graphPath}/{owner}.{attr.Name}[{i}]";
                subgraphPaths.Add(sub);
                WalkSubgraph(file, attr.Graphs[i], sub, depth);
            }
            if (keepAttributes)
                attributeList.Add(new OnnxAttribute(attr.Name, attr.Type, attr.Ints, attr.Floats, attr.Strings, subgraphPaths));
        }
        return new OnnxNode(name, opType, domain, inputs, outputs, attributeList);
    }

    private void WalkSubgraph(ReadOnlySpan<byte> file, Range range, string subPath, int depth)
    {
        if (depth + 1 > options.MaxSubgraphDepth)
            throw new InvalidCheckpointException(path, null,
                $"subgraph {subPath} is nested {depth + 1} deep, beyond OnnxOptions.MaxSubgraphDepth ({options.MaxSubgraphDepth})");
        WalkGraph(file, range, subPath, depth + 1);
    }

    private static ProtoSpanReader Open(ReadOnlySpan<byte> file, Range range) =>
        new(file.Slice((int)range.Offset, range.Length), range.Offset);

    private static Range ReadRange(ref ProtoSpanReader reader)
    {
        var span = reader.ReadLengthDelimited(out long offset);
        return new Range(offset, span.Length);
    }

    private static void ExpectBytes(WireFormat.WireType wt, string field) =>
        ProtoSpanReader.Expect(wt, WireFormat.WireType.LengthDelimited, field);

    private static OnnxValueInfo ReadValueInfo(ReadOnlySpan<byte> file, Range range)
    {
        var info = ValueInfoProto.Parser.ParseFrom(file.Slice((int)range.Offset, range.Length));
        var tensor = info.Type?.TensorType;
        IReadOnlyList<OnnxDimension>? dims = tensor?.Shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => new OnnxDimension(d.DimValue, null),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => new OnnxDimension(null, d.DimParam),
            _ => new OnnxDimension(null, null),
        }).ToArray();
        return new OnnxValueInfo(info.Name, tensor?.ElemType ?? 0, dims);
    }
}
