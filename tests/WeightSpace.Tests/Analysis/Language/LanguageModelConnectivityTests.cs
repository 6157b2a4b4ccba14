using WeightSpace.Analysis.Language;

namespace WeightSpace.Tests.Analysis.Language;

/// <summary>The loss path between two fine-tunes of the tiny Llama: its endpoints are the models' own scores.</summary>
public sealed class LanguageModelConnectivityTests
{
    [Fact]
    public void Interpolate_ProseToPython_EndpointsEqualOwnEvalAndMidpointIsBetweenOrAbove()
    {
        var options = new LanguageModelEvaluationOptions { Protocol = new PerplexityOptions { MaxWindows = 6 }, Model = new LanguageModelOptions { TorchThreads = 2 } };
        string[] texts = [TinyLlama.Text("prose"), TinyLlama.Text("python")];
        var curve = LanguageModelConnectivity.Interpolate(TinyLlama.Folder("ft-prose"), TinyLlama.Folder("ft-python"), texts, points: 3, options,
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal([0.0, 0.5, 1.0], curve.Alphas);
        var prose = LanguageModelEvaluation.Evaluate(TinyLlama.Folder("ft-prose"), texts, options, cancellationToken: TestContext.Current.CancellationToken);
        var python = LanguageModelEvaluation.Evaluate(TinyLlama.Folder("ft-python"), texts, options, cancellationToken: TestContext.Current.CancellationToken);
        for (int t = 0; t < texts.Length; t++)
        {
            // BF16 widened by the path (x·1 + y·0) and by the model are the same float32 numbers.
            Assert.Equal(prose.Texts[t].NllPerByte, curve.NllPerByte[t][0], 1e-9);
            Assert.Equal(python.Texts[t].NllPerByte, curve.NllPerByte[t][2], 1e-9);
        }
        // Each fine-tune is better on its own domain at its end of the path.
        Assert.True(curve.NllPerByte[0][0] < curve.NllPerByte[0][2]);
        Assert.True(curve.NllPerByte[1][2] < curve.NllPerByte[1][0]);
        double chordMid = (curve.MeanNllPerByte[0] + curve.MeanNllPerByte[2]) / 2;
        Assert.Equal(curve.MeanNllPerByte[1] - chordMid, curve.BarrierMidpoint, 1e-12);
    }
}
