namespace WeightSpace.Formats.Onnx;

/// <summary>The ONNX <c>AttributeProto.AttributeType</c> codes.</summary>
public enum OnnxAttributeType
{
    /// <summary>Not given.</summary>
    Undefined = 0,
    /// <summary>One float (<c>f</c>).</summary>
    Float = 1,
    /// <summary>One int64 (<c>i</c>).</summary>
    Int = 2,
    /// <summary>One byte string (<c>s</c>).</summary>
    String = 3,
    /// <summary>A tensor (<c>t</c>).</summary>
    Tensor = 4,
    /// <summary>A subgraph (<c>g</c>).</summary>
    Graph = 5,
    /// <summary>Floats (<c>floats</c>).</summary>
    Floats = 6,
    /// <summary>Int64s (<c>ints</c>).</summary>
    Ints = 7,
    /// <summary>Byte strings (<c>strings</c>).</summary>
    Strings = 8,
    /// <summary>Tensors (<c>tensors</c>).</summary>
    Tensors = 9,
    /// <summary>Subgraphs (<c>graphs</c>).</summary>
    Graphs = 10,
    /// <summary>A sparse tensor.</summary>
    SparseTensor = 11,
    /// <summary>Sparse tensors.</summary>
    SparseTensors = 12,
    /// <summary>A type.</summary>
    TypeProto = 13,
    /// <summary>Types.</summary>
    TypeProtos = 14,
}
