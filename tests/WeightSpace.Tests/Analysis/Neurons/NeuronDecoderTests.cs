using WeightSpace.Analysis.Neurons;

namespace WeightSpace.Tests.Analysis.Neurons;

/// <summary>Neuron → token decoding on hand-built stores whose answers follow from Cauchy–Schwarz or hand arithmetic.</summary>
public sealed class NeuronDecoderTests
{
    private static NeuronDecoding Decode(TensorStore model, TensorStore? baseline = null, NeuronDecodingOptions? options = null) =>
        NeuronDecoder.Decode(model, baseline, options, null, TestContext.Current.CancellationToken);

    private const int Hidden = 16, Vocab = 40, Intermediate = 6, Layers = 2;

    /// <summary>Token embeddings of equal norm: then E[t]·E[t] = |E|² beats every other row's E[s]·E[t] (Cauchy–Schwarz),
    /// so a direction equal to row t decodes to t with logit |E|².</summary>
    private static float[] Embeddings(int seed)
    {
        var random = new Random(seed);
        var e = new float[Vocab * Hidden];
        for (int t = 0; t < Vocab; t++)
        {
            double norm = 0;
            for (int h = 0; h < Hidden; h++) { e[t * Hidden + h] = (float)(random.NextDouble() * 2 - 1); norm += e[t * Hidden + h] * e[t * Hidden + h]; }
            for (int h = 0; h < Hidden; h++) e[t * Hidden + h] = (float)(e[t * Hidden + h] / Math.Sqrt(norm) * 2);   // |E[t]| = 2
        }
        return e;
    }

    /// <summary>A tied-embedding Llama-named store whose down_proj column j of layer l is embedding row planted[l][j].</summary>
    private static InMemoryTensorStore Planted(int[][] planted, float[] embeddings, bool finalNorm = true)
    {
        var store = new InMemoryTensorStore("planted");
        store.Add("model.embed_tokens.weight", embeddings, Vocab, Hidden);
        for (int l = 0; l < Layers; l++)
        {
            var down = new float[Hidden * Intermediate];
            for (int j = 0; j < Intermediate; j++)
                for (int h = 0; h < Hidden; h++) down[h * Intermediate + j] = embeddings[planted[l][j] * Hidden + h];
            store.Add($"model.layers.{l}.mlp.down_proj.weight", down, Hidden, Intermediate);
            store.Add($"model.layers.{l}.mlp.up_proj.weight", new float[Intermediate * Hidden], Intermediate, Hidden);
        }
        if (finalNorm) store.Add("model.norm.weight", Enumerable.Repeat(1f, Hidden).ToArray(), Hidden);
        return store;
    }

    private static readonly int[][] Tokens = [[3, 17, 0, 39, 22, 8], [5, 5, 11, 30, 2, 19]];

    [Fact]
    public void PlantedNeuron_DecodesToItsEmbeddingRow()
    {
        using var store = Planted(Tokens, Embeddings(1));
        var result = Decode(store, null, new NeuronDecodingOptions { TopK = 3 });
        Assert.Equal("model.embed_tokens.weight", result.Unembedding);
        Assert.Equal("model.norm.weight", result.FinalNorm);
        Assert.Equal(2, result.Layers.Count);
        for (int l = 0; l < Layers; l++)
        {
            Assert.Equal(l, result.Layers[l].Layer);
            Assert.Equal(Intermediate, result.Layers[l].NeuronCount);
            for (int j = 0; j < Intermediate; j++)
            {
                Assert.Equal(Tokens[l][j], result.Layers[l].Tokens(j)[0]);
                Assert.Equal(4f, result.Layers[l].Logits[j * 3], 4);   // |E[t]|² = 2²
                Assert.True(result.Layers[l].Logits[j * 3 + 1] < 4f - 1e-3f);
            }
        }
        Assert.Null(result.ShareTop1Unchanged);
    }

    [Fact]
    public void LmHead_IsPreferredOverEmbeddings()
    {
        using var store = Planted(Tokens, Embeddings(1));
        // An untied head whose rows are the embeddings shifted by one token: every neuron now decodes to token + 1.
        var e = Embeddings(1);
        var head = new float[e.Length];
        for (int t = 0; t < Vocab; t++) e.AsSpan(t * Hidden, Hidden).CopyTo(head.AsSpan((t + 1) % Vocab * Hidden, Hidden));
        store.Add("lm_head.weight", head, Vocab, Hidden);
        var result = Decode(store);
        Assert.Equal("lm_head.weight", result.Unembedding);
        Assert.Equal((Tokens[1][3] + 1) % Vocab, result.Layers[1].Tokens(3)[0]);
    }

    [Fact]
    public void FinalNormWeight_ChangesTheRankingAsHandComputed()
    {
        // U = [[1,0],[0,1],[.6,.6]], neuron v = [1, .5]: raw logits [1, .5, .9] → token 0;
        // with γ = [1, 2]: γ⊙v = [1, 1], logits [1, 1, 1.2] → token 2.
        var store = new InMemoryTensorStore("norm");
        store.Add("lm_head.weight", [1, 0, 0, 1, 0.6f, 0.6f], 3, 2);
        store.Add("model.layers.0.mlp.down_proj.weight", [1, 0.5f, 0.5f, 1], 2, 2);   // columns [1, .5] and [.5, 1]
        store.Add("model.norm.weight", [1, 2], 2);
        var raw = Decode(store, null, new NeuronDecodingOptions { TopK = 3, ApplyFinalNorm = false });
        Assert.Null(raw.FinalNorm);
        Assert.Equal([0, 2, 1], raw.Layers[0].Tokens(0).ToArray());
        Assert.Equal([1f, 0.9f, 0.5f], raw.Layers[0].Logits[..3], (a, b) => Math.Abs(a - b) < 1e-6);
        var normed = Decode(store, null, new NeuronDecodingOptions { TopK = 3 });
        Assert.Equal(2, normed.Layers[0].Tokens(0)[0]);
        Assert.Equal(1.2f, normed.Layers[0].Logits[0], 5);
        // Neuron 1: γ⊙[.5, 1] = [.5, 2]: logits [.5, 2, 1.5].
        Assert.Equal([1, 2, 0], normed.Layers[0].Tokens(1).ToArray());
    }

    [Fact]
    public void Compare_WithItself_EverythingUnchanged()
    {
        using var store = Planted(Tokens, Embeddings(1));
        var result = Decode(store, store, new NeuronDecodingOptions { TopK = 4 });
        Assert.Equal(1.0, result.ShareTop1Unchanged);
        foreach (var layer in result.Layers)
        {
            Assert.All(layer.TopKOverlap!, o => Assert.Equal(1f, o));
            Assert.All(layer.LogitCosine!, c => Assert.Equal(1f, c, 5));
        }
    }

    [Fact]
    public void Compare_OnePlantedChange_IsTheMostChangedNeuron()
    {
        var changed = Tokens.Select(t => t.ToArray()).ToArray();
        changed[1][4] = 33;
        using var model = Planted(changed, Embeddings(1));
        using var baseline = Planted(Tokens, Embeddings(1));
        var result = Decode(model, baseline, new NeuronDecodingOptions { TopK = 1, MostChanged = 3 });
        Assert.Equal((2.0 * Intermediate - 1) / (2 * Intermediate), result.ShareTop1Unchanged!.Value, 12);
        Assert.Equal(Intermediate - 1, result.Layers[1].Top1Unchanged);
        var top = result.MostChanged[0];
        Assert.Equal((1, 4), (top.Layer!.Value, top.Neuron));
        Assert.Equal(0f, top.TopKOverlap);
        Assert.Equal([33], top.TokenIds);
        Assert.Equal([2], top.BaselineTokenIds);
        Assert.Equal(1f, result.MostChanged[1].TopKOverlap);
    }

    [Fact]
    public void LayerOption_DecodesOneLayer_AndOutOfRangeNamesTheRange()
    {
        using var store = Planted(Tokens, Embeddings(1));
        var one = Decode(store, null, new NeuronDecodingOptions { Layer = 1 });
        Assert.Equal(1, Assert.Single(one.Layers).Layer);
        var e = Assert.Throws<InvalidCheckpointException>(() => Decode(store, null, new NeuronDecodingOptions { Layer = 7 }));
        Assert.Contains("layer 7 is out of range", e.Message);
        Assert.Contains("0…1", e.Message);
    }

    [Fact]
    public void NoUnembedding_IsOneErrorNamingWhatIsMissing()
    {
        var store = new InMemoryTensorStore("headless");
        store.Add("model.layers.0.mlp.down_proj.weight", new float[8], 2, 4);
        var e = Assert.Throws<InvalidCheckpointException>(() => Decode(store));
        Assert.Contains("lm_head", e.Message);
        Assert.Contains("embed_tokens", e.Message);
    }

    [Fact]
    public void BaselineOfAnotherShape_IsOneErrorNamingTheTensor()
    {
        using var model = Planted(Tokens, Embeddings(1));
        var other = new InMemoryTensorStore("other");
        other.Add("model.embed_tokens.weight", Embeddings(1), Vocab, Hidden);
        other.Add("model.layers.0.mlp.down_proj.weight", new float[Hidden * 3], Hidden, 3);
        other.Add("model.layers.1.mlp.down_proj.weight", new float[Hidden * 3], Hidden, 3);
        var e = Assert.Throws<InvalidCheckpointException>(() => Decode(model, other));
        Assert.Contains("model.layers.0.mlp.down_proj.weight", e.Message);
        Assert.Contains("differs", e.Message);
    }

    [Fact]
    public void MatrixWithoutHiddenDimension_IsRejected()
    {
        var store = new InMemoryTensorStore("odd");
        store.Add("lm_head.weight", new float[12], 3, 4);
        store.Add("model.layers.0.mlp.down_proj.weight", new float[15], 5, 3);
        var e = Assert.Throws<InvalidCheckpointException>(() => Decode(store));
        Assert.Contains("hidden size 4", e.Message);
    }

    [Fact]
    public void Chunking_DoesNotChangeTheResult()
    {
        using var store = Planted(Tokens, Embeddings(2));
        var whole = Decode(store, store, new NeuronDecodingOptions { TopK = 5 });
        var chunked = Decode(store, store, new NeuronDecodingOptions { TopK = 5, ChunkElements = Vocab * 4 });   // 4 neurons per block
        for (int l = 0; l < Layers; l++)
        {
            Assert.Equal(whole.Layers[l].TokenIds, chunked.Layers[l].TokenIds);
            // BLAS may block a narrower product differently: the same sums to within float rounding.
            Assert.Equal(whole.Layers[l].Logits, chunked.Layers[l].Logits, (a, b) => Math.Abs(a - b) < 1e-5f);
            Assert.Equal(whole.Layers[l].LogitCosine!, chunked.Layers[l].LogitCosine!, (a, b) => Math.Abs(a - b) < 1e-5f);
        }
    }
}
