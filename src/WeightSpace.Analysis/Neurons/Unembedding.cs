using static TorchSharp.torch;

namespace WeightSpace.Analysis.Neurons;

/// <summary>The map from the residual stream to logits, read from a checkpoint: U·diag(γ) in float32 [vocab, hidden],
/// with U = <c>lm_head</c> (or the tied token embeddings) and γ the final norm's weight when asked for.</summary>
/// <param name="matrix">[vocab, hidden] float32; owned (disposed with this).</param>
/// <param name="name">The tensor the unembedding was read from.</param>
/// <param name="finalNorm">The final norm folded in, or null.</param>
/// <param name="centre">True when the final norm is a LayerNorm (it has a bias): directions are mean-centred first, as LayerNorm does.</param>
internal sealed class Unembedding(Tensor matrix, string name, string? finalNorm, bool centre) : IDisposable
{
    public Tensor Matrix => matrix;
    public string Name => name;
    public string? FinalNorm => finalNorm;
    public bool Centre => centre;
    public long VocabularySize => Matrix.shape[0];
    public long HiddenSize => Matrix.shape[1];

    /// <summary>The unembedding and final norm tensors, from the header alone (a shard plan needs the shapes, not the data).</summary>
    /// <exception cref="InvalidCheckpointException">No lm_head and no token embeddings, or the norm does not fit them.</exception>
    public static (TensorInfo Head, TensorInfo? Norm) Locate(TensorStore store, bool applyFinalNorm)
    {
        var names = store.Tensors.Select(t => (Info: t, Name: TensorNames.Parse(t.Name))).ToList();
        var head = names.FirstOrDefault(n => n.Name.Role == TensorRole.LmHead && n.Name.Parameter == "weight" && n.Info.Shape.Rank == 2);
        if (head.Info is null)
            head = names.FirstOrDefault(n => n.Name.Role == TensorRole.TokenEmbedding && n.Info.Shape.Rank == 2);
        if (head.Info is null)
            throw new InvalidCheckpointException(store.Path, null,
                "has neither an output head (lm_head.weight, GGUF output.weight) nor token embeddings (embed_tokens, wte, word_embeddings, token_embd): there is no unembedding to decode neurons onto");
        long hidden = head.Info.Shape[1];
        var norm = applyFinalNorm
            ? names.FirstOrDefault(n => n.Name.Role == TensorRole.FinalNorm && n.Name.Parameter == "weight" && n.Info.Shape.Rank == 1)
            : default;
        if (norm.Info is not null && norm.Info.Shape[0] != hidden)
            throw new InvalidCheckpointException(store.Path, norm.Info.Name, $"has {norm.Info.Shape[0]} elements but the unembedding '{head.Info.Name}' {head.Info.Shape} has hidden size {hidden}");
        return (head.Info, norm.Info);
    }

    /// <exception cref="InvalidCheckpointException">No lm_head and no token embeddings, or they are not 2-D.</exception>
    public static Unembedding Load(TensorStore store, bool applyFinalNorm)
    {
        var (head, norm) = Locate(store, applyFinalNorm);
        bool centre = norm is not null && store.Contains(norm.Name[..^"weight".Length] + "bias");

        using var scope = NewDisposeScope();
        Tensor matrix;
        using (var buffer = store.Read(head.Name)) matrix = buffer.ToTorch(ScalarType.Float32);
        if (norm is not null)
        {
            using var buffer = store.Read(norm.Name);
            matrix = matrix.mul(buffer.ToTorch(ScalarType.Float32).unsqueeze(0));
        }
        return new Unembedding(matrix.contiguous().MoveToOuterDisposeScope(), head.Name, norm?.Name, centre);
    }

    public void Dispose() => Matrix.Dispose();
}
