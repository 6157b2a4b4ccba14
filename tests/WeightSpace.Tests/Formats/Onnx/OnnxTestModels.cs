using System.Runtime.InteropServices;
using Google.Protobuf;
using WeightSpace.Formats.Onnx.Proto;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Builds small ModelProto files with the reader's own generated message classes (whose field numbers are the
/// published ones), for hand-computed and hostile cases.</summary>
internal static class OnnxTestModels
{
    public static ModelProto Model(params TensorProto[] initializers)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "weightspace-tests",
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 16 } },
            Graph = new GraphProto { Name = "g" },
        };
        model.Graph.Initializer.Add(initializers);
        return model;
    }

    public static TensorProto Floats(string name, long[] dims, params float[] values) => new()
    {
        Name = name,
        DataType = (int)TensorProto.Types.DataType.Float,
        Dims = { dims },
        RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
    };

    public static TensorProto External(string name, long[] dims, string location, long? offset = null, long? length = null)
    {
        var t = new TensorProto
        {
            Name = name,
            DataType = (int)TensorProto.Types.DataType.Float,
            Dims = { dims },
            DataLocation = TensorProto.Types.DataLocation.External,
            ExternalData = { new StringStringEntryProto { Key = "location", Value = location } },
        };
        if (offset is not null) t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.Value.ToString() });
        if (length is not null) t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.Value.ToString() });
        return t;
    }

    public static NodeProto Constant(string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = "Constant", Name = output + "_node", Output = { output } };
        node.Attribute.Add(attributes);
        return node;
    }

    public static NodeProto If(string name, GraphProto thenBranch, GraphProto elseBranch) => new()
    {
        OpType = "If",
        Name = name,
        Input = { "cond" },
        Output = { name + "_out" },
        Attribute =
        {
            new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = thenBranch },
            new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseBranch },
        },
    };

    /// <summary>Writes <paramref name="model"/> as <c>model.onnx</c> in <paramref name="folder"/> (a fresh temp folder if null).</summary>
    public static string Write(ModelProto model, string? folder = null) => Write(model.ToByteArray(), folder);

    public static string Write(byte[] bytes, string? folder = null)
    {
        folder ??= SharedData.TempFolder();
        string path = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
