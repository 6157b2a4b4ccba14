namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>Small decoder-shaped stores: embed, per-layer attention and MLP matrices, a final norm and an int buffer.</summary>
internal static class FakeModels
{
    public const int Dim = 3;

    /// <summary>Every value is offset + a code of (tensor, layer, element), so any mix-up of layers or models shows.</summary>
    public static InMemoryTensorStore Decoder(string name, int layers, float offset, int vocab = 5)
    {
        var s = new InMemoryTensorStore(name);
        s.Add("model.embed_tokens.weight", Values(vocab * Dim, offset, 900), vocab, Dim);
        for (int i = 0; i < layers; i++)
        {
            s.Add($"model.layers.{i}.self_attn.q_proj.weight", Values(Dim * Dim, offset, 100 * i + 10), Dim, Dim);
            s.Add($"model.layers.{i}.mlp.up_proj.weight", Values(Dim * Dim, offset, 100 * i + 50), Dim, Dim);
        }
        s.Add("model.norm.weight", Values(Dim, offset, 990), Dim);
        var ids = new long[] { 7, 1L << 40, -3 };
        s.Add(new TensorInfo("model.position_ids", DType.I64, new Shape(3)), System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()));
        return s;
    }

    public static float[] Values(int n, float offset, int code) =>
        Enumerable.Range(0, n).Select(j => offset + code + j * 0.25f).ToArray();
}
