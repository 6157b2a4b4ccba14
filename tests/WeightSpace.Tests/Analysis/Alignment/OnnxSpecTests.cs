using System.Runtime.InteropServices;
using Google.Protobuf;
using WeightSpace.Analysis.Alignment;
using WeightSpace.Formats;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Onnx.Export;
using WeightSpace.Formats.Onnx.Proto;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary>The spec derived from an ONNX graph against the hand-written builders, on a PyTorch export, on an exported
/// CNN and on a ResNet graph with residual Adds written here node by node.</summary>
public sealed class OnnxSpecTests
{
    [Fact]
    public void FromOnnx_DigitsMlpTorchExport_EqualsHandWrittenMlpSpec()
    {
        using var onnx = OnnxReader.Open(SharedData.Require("digits_mlp/mlp_seed0.onnx"));
        using var safetensors = Checkpoint.Open(SharedData.Require("digits_mlp/mlp_seed0.safetensors"));
        var derived = PermutationSpec.FromOnnx(onnx);
        var expected = PermutationSpec.Mlp(safetensors);
        Assert.True(derived.IsEquivalentTo(expected));
        Assert.Equal(["P_fc1", "P_fc2"], derived.Groups);
        foreach (string t in expected.Tensors) Assert.Equal(expected.AxesOf(t), derived.AxesOf(t));
        Assert.Equal(new Dictionary<string, int> { ["P_fc1"] = 128, ["P_fc2"] = 128 }, derived.ResolveSizes(safetensors));
    }

    [Fact]
    public void FromOnnx_ExportedCnnWithBatchNorm_EqualsSequentialSpec()
    {
        var (store, arch) = Fixtures.Cnn(3);
        string path = Path.Combine(SharedData.TempFolder(), "cnn.onnx");
        OnnxExporter.Save(store, arch.ToOnnxLayers(), new OnnxExportOptions { SampleShape = [8, 8] }, path);
        using var onnx = OnnxReader.Open(path);
        var derived = PermutationSpec.FromOnnx(onnx);
        var expected = PermutationSpec.FromArchitecture(arch, store);
        Assert.True(derived.IsEquivalentTo(expected), Describe(derived) + " vs " + Describe(expected));
        // Flatten joins the second conv's channels to the first Linear's input in blocks of H·W = 4.
        Assert.Equal(derived.AxesOf("layers.2.weight")[0], derived.AxesOf("layers.4.weight")[1]);
    }

    [Fact]
    public void FromOnnx_ResNetGraphWithResidualAdds_EqualsResNetSpec()
    {
        var store = TinyResNet.Store(1);
        string path = Path.Combine(SharedData.TempFolder(), "resnet.onnx");
        File.WriteAllBytes(path, ResNetGraph(store).ToByteArray());
        using var onnx = OnnxReader.Open(path);
        var derived = PermutationSpec.FromOnnx(onnx);
        var expected = PermutationSpec.ResNet(store);
        Assert.True(derived.IsEquivalentTo(expected), Describe(derived) + " vs " + Describe(expected));
        Assert.Equal(expected.Groups.Length, derived.Groups.Length);
    }

    [Fact]
    public void FromOnnx_ReshapeBetweenLayers_DropsThatGroupOnly()
    {
        // fc1 → Relu → Reshape → fc2 → Relu → fc3: the Reshape hides how fc1's units reach fc2, so P_fc1 must go.
        var store = Fixtures.Mlp(2, 4, 5, 6, 3);
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(Value("x", 2));
        graph.Output.Add(Value("y", 2));
        AddWeights(graph, store);
        graph.Initializer.Add(new TensorProto { Name = "shape", DataType = 7, Dims = { 2 }, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(new long[] { -1, 5 }.AsSpan())) });
        Node(graph, "Gemm", ["x", "fc1.weight", "fc1.bias"], "h1", ("transB", 1));
        Node(graph, "Relu", ["h1"], "r1");
        Node(graph, "Reshape", ["r1", "shape"], "s1");
        Node(graph, "Gemm", ["s1", "fc2.weight", "fc2.bias"], "h2", ("transB", 1));
        Node(graph, "Relu", ["h2"], "r2");
        Node(graph, "Gemm", ["r2", "fc3.weight", "fc3.bias"], "y", ("transB", 1));
        string path = Path.Combine(SharedData.TempFolder(), "reshape.onnx");
        File.WriteAllBytes(path, Model(graph).ToByteArray());
        using var onnx = OnnxReader.Open(path);
        var spec = PermutationSpec.FromOnnx(onnx);
        Assert.Equal(["P_fc2"], spec.Groups);
        Assert.Equal([null, null], spec.AxesOf("fc1.weight"));
        Assert.Equal(["P_fc2", null], spec.AxesOf("fc2.weight"));
    }

    [Fact]
    public void FromOnnx_OnlyOneLayer_ThrowsNamingModel()
    {
        var store = new InMemoryTensorStore().Add("fc.weight", [1, 2, 3, 4], 2, 2);
        string path = Path.Combine(SharedData.TempFolder(), "single.onnx");
        OnnxExporter.Save(store, [new OnnxExportLayer(OnnxExportOperator.Linear, "fc")], new OnnxExportOptions { SampleShape = [2] }, path);
        using var onnx = OnnxReader.Open(path);
        var e = Assert.Throws<InvalidPermutationSpecException>(() => PermutationSpec.FromOnnx(onnx));
        Assert.Contains("single.onnx", e.Message);
    }

    private static string Describe(PermutationSpec spec) =>
        string.Join("; ", spec.Groups.Select(g => g + ": " + string.Join(",", spec.Members(g))));

    private static ModelProto ResNetGraph(TensorStore store)
    {
        var graph = new GraphProto { Name = "resnet" };
        graph.Input.Add(Value("x", 4));
        graph.Output.Add(Value("logits", 2));
        AddWeights(graph, store);
        int k = 0;
        string Conv(string x, string name, int stride)
        {
            long kernel = store.GetInfo(name + ".weight").Shape[2];
            string y = $"v{k++}";
            var n = Node(graph, "Conv", [x, name + ".weight"], y, ("group", 1));
            n.Attribute.Add(Ints("strides", stride, stride));
            n.Attribute.Add(Ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2));
            return y;
        }
        string Bn(string x, string name)
        {
            string y = $"v{k++}";
            Node(graph, "BatchNormalization", [x, name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"], y);
            return y;
        }
        string Relu(string x) { string y = $"v{k++}"; Node(graph, "Relu", [x], y); return y; }
        string Block(string x, string p, int stride, bool downsample)
        {
            string h = Relu(Bn(Conv(x, p + ".conv1", stride), p + ".bn1"));
            h = Bn(Conv(h, p + ".conv2", 1), p + ".bn2");
            string skip = downsample ? Bn(Conv(x, p + ".downsample.0", stride), p + ".downsample.1") : x;
            string sum = $"v{k++}";
            Node(graph, "Add", [h, skip], sum);
            return Relu(sum);
        }
        string v = Relu(Bn(Conv("x", "conv1", 1), "bn1"));
        v = Block(v, "layer1.0", 1, false);
        v = Block(v, "layer2.0", 2, true);
        v = Block(v, "layer2.1", 1, false);
        string pooled = $"v{k++}", flat = $"v{k++}";
        Node(graph, "GlobalAveragePool", [v], pooled);
        Node(graph, "Flatten", [pooled], flat, ("axis", 1));
        Node(graph, "Gemm", [flat, "fc.weight", "fc.bias"], "logits", ("transB", 1));
        return Model(graph);
    }

    private static ModelProto Model(GraphProto graph) =>
        new() { IrVersion = 8, Graph = graph, OpsetImport = { new OperatorSetIdProto { Version = 13 } } };

    private static void AddWeights(GraphProto graph, TensorStore store)
    {
        foreach (var info in store.Tensors.Where(t => t.DType == DType.F32))
        {
            float[] values = store.ReadSingle(info.Name);
            var t = new TensorProto { Name = info.Name, DataType = 1, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
            t.Dims.AddRange(info.Shape.ToArray());
            graph.Initializer.Add(t);
        }
    }

    private static NodeProto Node(GraphProto graph, string op, string[] inputs, string output, params (string Name, long Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output, Input = { inputs }, Output = { output } };
        foreach (var (name, value) in attributes) node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
        graph.Node.Add(node);
        return node;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static ValueInfoProto Value(string name, int rank)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < rank; i++) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = $"d{i}" });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}
