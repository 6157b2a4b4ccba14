using System.Runtime.InteropServices;
using Google.Protobuf;
using WeightSpace.Formats.Onnx.Proto;

namespace WeightSpace.Formats.Onnx.Export;

/// <summary>Writes a feed-forward network (MLP or VGG-style CNN) as an ONNX model (IR 8, opset 13) whose initializers
/// carry the weights of a <see cref="TensorStore"/> under their store names, so the model, its safetensors checkpoint
/// and the permutation spec derived from its graph all use the same tensor names.</summary>
public static class OnnxExporter
{
    private const long OpsetVersion = 13;
    private const long IrVersion = 8;

    /// <summary>Builds the serialized ModelProto of <paramref name="layers"/> with the weights of <paramref name="weights"/>
    /// (floating-point tensors written as float32).</summary>
    /// <exception cref="TensorNotFoundException">A layer's weight is missing from the store.</exception>
    /// <exception cref="ArgumentException">A weighted layer has no name, a weight has the wrong rank, or the chain is empty.</exception>
    public static byte[] Export(TensorStore weights, IReadOnlyList<OnnxExportLayer> layers, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(options);
        if (layers.Count == 0) throw new ArgumentException("The layer list is empty.", nameof(layers));
        var graph = new GraphProto { Name = "weightspace_export" };
        string current = options.InputName;
        int rank = options.SampleShape.Count + 1;
        int counter = 0;
        string Next(string op) => $"/{op}_{counter++}";
        long outFeatures = -1;

        foreach (var layer in layers)
        {
            string output = Next(layer.Operator.ToString());
            var node = new NodeProto { Name = output, OpType = OpType(layer.Operator) };
            switch (layer.Operator)
            {
                case OnnxExportOperator.Linear:
                {
                    string name = RequireName(layer);
                    var w = AddInitializer(graph, weights, name + ".weight", 2);
                    node.Input.Add(current);
                    node.Input.Add(name + ".weight");
                    if (weights.Contains(name + ".bias")) { AddInitializer(graph, weights, name + ".bias", 1); node.Input.Add(name + ".bias"); }
                    node.Attribute.Add(IntAttribute("transB", 1));
                    outFeatures = w.Shape[0];
                    break;
                }
                case OnnxExportOperator.Conv2d:
                {
                    string name = RequireName(layer);
                    if (rank == 3)
                    {
                        // [N, H, W] → [N, 1, H, W], as NetworkArchitecture's forward does for a first convolution.
                        string axes = "/unsqueeze_axes";
                        graph.Initializer.Add(Int64Tensor(axes, [1]));
                        string unsqueezed = Next("Unsqueeze");
                        graph.Node.Add(new NodeProto { Name = unsqueezed, OpType = "Unsqueeze", Input = { current, axes }, Output = { unsqueezed } });
                        current = unsqueezed;
                        rank = 4;
                    }
                    var w = AddInitializer(graph, weights, name + ".weight", 4);
                    node.Input.Add(current);
                    node.Input.Add(name + ".weight");
                    if (weights.Contains(name + ".bias")) { AddInitializer(graph, weights, name + ".bias", 1); node.Input.Add(name + ".bias"); }
                    node.Attribute.Add(IntsAttribute("kernel_shape", [w.Shape[2], w.Shape[3]]));
                    node.Attribute.Add(IntsAttribute("strides", [layer.Stride, layer.Stride]));
                    node.Attribute.Add(IntsAttribute("pads", [layer.Padding, layer.Padding, layer.Padding, layer.Padding]));
                    break;
                }
                case OnnxExportOperator.BatchNorm:
                {
                    string name = RequireName(layer);
                    node.Input.Add(current);
                    foreach (string part in new[] { "weight", "bias", "running_mean", "running_var" })
                    {
                        AddInitializer(graph, weights, $"{name}.{part}", 1);
                        node.Input.Add($"{name}.{part}");
                    }
                    node.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = 1e-5f });
                    break;
                }
                case OnnxExportOperator.MaxPool2d:
                    if (layer.Kernel < 1) throw new ArgumentException($"MaxPool2d kernel {layer.Kernel} must be at least 1.", nameof(layers));
                    node.Input.Add(current);
                    node.Attribute.Add(IntsAttribute("kernel_shape", [layer.Kernel, layer.Kernel]));
                    node.Attribute.Add(IntsAttribute("strides", [layer.Kernel, layer.Kernel]));
                    break;
                case OnnxExportOperator.Flatten:
                    node.Input.Add(current);
                    node.Attribute.Add(IntAttribute("axis", 1));
                    rank = 2;
                    break;
                default:
                    node.Input.Add(current);
                    break;
            }
            node.Output.Add(output);
            graph.Node.Add(node);
            current = output;
        }
        // The last node writes the graph output under its public name.
        graph.Node[^1].Output[0] = options.OutputName;

        graph.Input.Add(ValueInfo(options.InputName, [null, .. options.SampleShape.Select(d => (long?)d)]));
        graph.Output.Add(ValueInfo(options.OutputName, outFeatures > 0 && layers[^1].Operator == OnnxExportOperator.Linear ? [null, outFeatures] : null));
        if (options.InitializersAsInputs) AddInitializerInputs(graph);

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = options.ProducerName,
            Graph = graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = OpsetVersion } },
        };
        return model.ToByteArray();
    }

    /// <summary>Exports to <paramref name="path"/> atomically (<see cref="AtomicFile"/>), so a reader never sees a
    /// half-written model.</summary>
    /// <exception cref="TensorNotFoundException">A layer's weight is missing from the store.</exception>
    /// <exception cref="ArgumentException">As <see cref="Export"/>.</exception>
    public static void Save(TensorStore weights, IReadOnlyList<OnnxExportLayer> layers, OnnxExportOptions options, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = Export(weights, layers, options);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Returns <paramref name="model"/> (a serialized ModelProto) with every top-level initializer also listed
    /// as a graph input, which makes it overridable at each ONNX Runtime run. Other fields are kept as they are.</summary>
    /// <exception cref="InvalidCheckpointException">The bytes are not a ModelProto with a graph.</exception>
    public static byte[] WithInitializersAsInputs(ReadOnlySpan<byte> model, string name = "<model>")
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidCheckpointException(name, null, $"malformed protobuf: {e.Message}", e);
        }
        if (proto.Graph is null) throw new InvalidCheckpointException(name, null, "the model has no graph");
        AddInitializerInputs(proto.Graph);
        return proto.ToByteArray();
    }

    private static void AddInitializerInputs(GraphProto graph)
    {
        var listed = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            if (!listed.Add(t.Name)) continue;
            graph.Input.Add(new ValueInfoProto
            {
                Name = t.Name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = t.DataType, Shape = Shape(t.Dims.Select(d => (long?)d)) } },
            });
        }
    }

    private static string RequireName(OnnxExportLayer layer) =>
        string.IsNullOrEmpty(layer.Name) ? throw new ArgumentException($"A {layer.Operator} layer needs a module name.", nameof(layer)) : layer.Name;

    private static string OpType(OnnxExportOperator op) => op switch
    {
        OnnxExportOperator.Linear => "Gemm",
        OnnxExportOperator.Conv2d => "Conv",
        OnnxExportOperator.BatchNorm => "BatchNormalization",
        OnnxExportOperator.Relu => "Relu",
        OnnxExportOperator.MaxPool2d => "MaxPool",
        OnnxExportOperator.Flatten => "Flatten",
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown operator"),
    };

    private static TensorInfo AddInitializer(GraphProto graph, TensorStore weights, string name, int rank)
    {
        var info = weights.GetInfo(name);
        if (info.Shape.Rank != rank)
            throw new ArgumentException($"{weights.Path}: tensor '{name}' has shape {info.Shape}; the layer needs rank {rank}.", nameof(weights));
        if (graph.Initializer.Any(t => t.Name == name)) return info;
        float[] values = weights.ReadSingle(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(info.Shape.ToArray());
        graph.Initializer.Add(tensor);
        return info;
    }

    private static TensorProto Int64Tensor(string name, long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.Add(values.Length);
        return tensor;
    }

    private static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto IntsAttribute(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static ValueInfoProto ValueInfo(string name, IEnumerable<long?>? dims) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = dims is null ? null : Shape(dims) } },
    };

    private static TensorShapeProto Shape(IEnumerable<long?> dims)
    {
        var shape = new TensorShapeProto();
        foreach (long? d in dims)
            shape.Dim.Add(d is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        return shape;
    }
}
