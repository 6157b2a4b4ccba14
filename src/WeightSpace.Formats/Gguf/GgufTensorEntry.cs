namespace WeightSpace.Formats.Gguf;

/// <summary>One tensor as the GGUF file stores it, validated.</summary>
/// <param name="Name">The name in the file (<c>blk.0.attn_q.weight</c>).</param>
/// <param name="TypeId">The ggml type id.</param>
/// <param name="DType">The dtype it reads as.</param>
/// <param name="Ne">ggml's dimensions, fastest-varying first (the row-major shape is their reverse).</param>
/// <param name="Offset">Byte offset from the start of the data section.</param>
/// <param name="ByteCount">Bytes of data (whole blocks).</param>
public sealed record GgufTensorEntry(string Name, uint TypeId, DType DType, IReadOnlyList<long> Ne, long Offset, long ByteCount)
{
    /// <summary>The row-major (C order) shape: <see cref="Ne"/> reversed.</summary>
    public Shape Shape => new([.. Ne.Reverse()]);

    /// <summary>ggml's name of the type (<c>Q4_K</c>).</summary>
    public string TypeName => GgmlTypes.Name(TypeId) ?? TypeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
