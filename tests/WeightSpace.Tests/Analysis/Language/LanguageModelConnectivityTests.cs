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

    [Fact]
    public void Plane_ProsePythonC_CornersAtAAndBEqualTheirOwnEval()
    {
        var options = new LanguageModelEvaluationOptions { Protocol = new PerplexityOptions { MaxWindows = 2 }, Model = new LanguageModelOptions { TorchThreads = 2 } };
        string[] texts = [TinyLlama.Text("prose"), TinyLlama.Text("python")];
        var ct = TestContext.Current.CancellationToken;
        var plane = LanguageModelConnectivity.Plane(TinyLlama.Folder("ft-prose"), TinyLlama.Folder("ft-python"), TinyLlama.Folder("ft-c"), texts,
            resolution: 2, margin: 0, options, cancellationToken: ct);
        // With no margin the grid's lower corners are A (0, 0) and B (‖B−A‖, 0) whenever C projects between them.
        Assert.InRange(plane.ModelX[2], 0, plane.ModelX[1]);
        Assert.Equal(0, plane.X[0]);
        Assert.Equal(plane.ModelX[1], plane.X[1]);
        Assert.Equal(0, plane.Y[0]);
        Assert.Equal(plane.ModelY[2], plane.Y[1]);
        var prose = LanguageModelEvaluation.Evaluate(TinyLlama.Folder("ft-prose"), texts, options, cancellationToken: ct);
        var python = LanguageModelEvaluation.Evaluate(TinyLlama.Folder("ft-python"), texts, options, cancellationToken: ct);
        for (int t = 0; t < texts.Length; t++)
        {
            Assert.Equal(prose.Texts[t].NllPerByte, plane.NllPerByte[t][0], 1e-9);
            Assert.Equal(python.Texts[t].NllPerByte, plane.NllPerByte[t][1], 1e-9);
        }
        Assert.Equal((plane.NllPerByte[0][3] + plane.NllPerByte[1][3]) / 2, plane.MeanNllPerByte[3], 1e-12);
    }
}
