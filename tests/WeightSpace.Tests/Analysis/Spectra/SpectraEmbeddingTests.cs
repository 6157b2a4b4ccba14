using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

/// <summary>WeightWatcher skips embeddings and lm_head; <see cref="SpectrumOptions.IncludeEmbeddings"/> analyses them.</summary>
public sealed class SpectraEmbeddingTests
{
    private static InMemoryTensorStore Store() => new InMemoryTensorStore("llm")
        .Add("model.embed_tokens.weight", SpectraFixtures.Gaussian(60, 16, 1), 60, 16)
        .Add("model.layers.0.self_attn.q_proj.weight", SpectraFixtures.Gaussian(16, 16, 2), 16, 16)
        .Add("lm_head.weight", SpectraFixtures.Gaussian(60, 16, 3), 60, 16);

    [Fact]
    public void CompatWw_SkipsEmbeddingAndHead_IncludeEmbeddingsAnalysesBoth_CompatNoneAnalysesTheHead()
    {
        var ct = TestContext.Current.CancellationToken;
        var byDefault = SpectrumAnalyzer.Analyze(Store(), cancellationToken: ct).Layers;
        Assert.Equal([LayerStatus.Skipped, LayerStatus.Ok, LayerStatus.Skipped], byDefault.Select(l => l.Status));
        Assert.Contains("--include-embeddings", byDefault[0].Reason);
        Assert.Contains("output head", byDefault[2].Reason);

        var included = SpectrumAnalyzer.Analyze(Store(), new SpectrumOptions { IncludeEmbeddings = true }, cancellationToken: ct).Layers;
        Assert.All(included, l => Assert.Equal(LayerStatus.Ok, l.Status));
        Assert.Equal(16, included[0].NumEvals);

        var none = SpectrumAnalyzer.Analyze(Store(), new SpectrumOptions { WeightWatcherCompat = false }, cancellationToken: ct).Layers;
        Assert.Equal([LayerStatus.Skipped, LayerStatus.Ok, LayerStatus.Ok], none.Select(l => l.Status));
    }
}
