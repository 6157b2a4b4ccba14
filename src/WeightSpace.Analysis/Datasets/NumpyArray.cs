namespace WeightSpace.Analysis.Datasets;

/// <summary>One array read from a NumPy .npy file (or an entry of an .npz): its shape, element type and little-endian
/// bytes in C order (Fortran-order files are transposed on reading).</summary>
public sealed class NumpyArray
{
    internal NumpyArray(Shape shape, DType dtype, byte[] data)
    {
        Shape = shape;
        DType = dtype;
        Data = data;
    }

    /// <summary>The array's shape, C order.</summary>
    public Shape Shape { get; }

    /// <summary>The element type: F32, F64, U8, I8, I16, I32, I64 or Bool.</summary>
    public DType DType { get; }

    /// <summary>The raw little-endian bytes, C order.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Every element converted to float32 (F64 and large I64 values round to nearest).</summary>
    public float[] ToSingleArray()
    {
        var result = new float[Shape.ElementCount];
        DTypeConversion.ToSingle(Data.Span, DType, result);
        return result;
    }

    /// <summary>Every element as an <see cref="int"/>, for labels.</summary>
    /// <param name="source">Names the file in error messages.</param>
    /// <exception cref="InvalidDatasetException">An element is not an integer in the <see cref="int"/> range.</exception>
    public int[] ToInt32Array(string source)
    {
        var values = new double[Shape.ElementCount];
        DTypeConversion.ToDouble(Data.Span, DType, values);
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue)
                throw new InvalidDatasetException(source, $"element {i} is {v}, not an integer label");
            result[i] = (int)v;
        }
        return result;
    }
}
