using System.Text.Json;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Reports.Spectra;

namespace WeightSpace.Tests.Reports.Spectra;

public sealed class SpectrumReportWriterTests
{
    private static SpectrumReport Report(string name, double? alpha) => new("in/memory",
    [
        new LayerSpectrum
        {
            Name = name, Shape = [4, 3], Kind = "dense", Status = LayerStatus.Ok, Alpha = alpha, LambdaMax = 0.1, NumEvals = 3,
            MpSoftRank = 0.25, Eigenvalues = [0.01, 0.05, 0.1],
        },
    ], new SpectrumSummary
    {
        LayersOk = 1, LayersSkipped = 0, LayersFailed = 0, OverTrained = 0, UnderTrained = 0,
        Alpha = new(alpha, alpha, 1), AlphaWeighted = new(null, null, 0), LogAlphaNorm = new(null, null, 0), LogNorm = new(null, null, 0),
        LogSpectralNorm = new(null, null, 0), StableRank = new(null, null, 0), EffectiveRank = new(null, null, 0),
        MatrixEntropy = new(null, null, 0), MpSoftRank = new(null, null, 0), KsDistance = new(null, null, 0),
    });

    [Theory]
    [InlineData("plain")]
    [InlineData("with,comma")]
    [InlineData("with \"quotes\"")]
    [InlineData("line\r\nbreak")]
    [InlineData("lone\nnewline")]
    public void Csv_AwkwardNames_RoundTripThroughRfc4180Reader(string name)
    {
        var writer = new StringWriter();
        SpectrumCsv.Write(writer, Report(name, 0.1 + 0.2));
        var rows = RfcCsv.Parse(writer.ToString());
        Assert.Equal(2, rows.Count);
        Assert.Equal(name, rows[1][0]);
        Assert.Equal("4x3", rows[1][1]);
        int alpha = rows[0].IndexOf("alpha");
        // 0.1 + 0.2 = 0.30000000000000004: only a round-trip format gives the same double back.
        Assert.Equal(0.1 + 0.2, double.Parse(rows[1][alpha], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("", rows[1][rows[0].IndexOf("xmin")]);
    }

    [Fact]
    public void Json_SnakeCaseAndEigenvaluesOnlyOnRequest()
    {
        var report = Report("a", 3.5);
        using var without = new MemoryStream();
        SpectrumJson.Write(without, report, layout: "torch (default)");
        using var doc = JsonDocument.Parse(without.ToArray());
        var layer = doc.RootElement.GetProperty("layers")[0];
        Assert.Equal(0.25, layer.GetProperty("mp_softrank").GetDouble());
        Assert.Equal(3.5, layer.GetProperty("alpha").GetDouble());
        Assert.Equal(JsonValueKind.Null, layer.GetProperty("reason").ValueKind);
        Assert.False(layer.TryGetProperty("eigenvalues", out _));
        Assert.Equal("torch (default)", doc.RootElement.GetProperty("layout").GetString());
        Assert.Equal(3.5, doc.RootElement.GetProperty("summary").GetProperty("alpha").GetProperty("median").GetDouble());

        using var with = new MemoryStream();
        SpectrumJson.Write(with, report, includeEigenvalues: true);
        using var doc2 = JsonDocument.Parse(with.ToArray());
        Assert.Equal([0.01, 0.05, 0.1], doc2.RootElement.GetProperty("layers")[0].GetProperty("eigenvalues").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Theory]
    [InlineData("conv1/weight", "conv1_weight")]
    [InlineData("model.layers.0.attn", "model.layers.0.attn")]
    [InlineData("../../etc", "_.._etc")]
    [InlineData("", "_")]
    public void Sanitize_KeepsNamesInsideTheFolder(string name, string expected) =>
        Assert.Equal(expected, SpectrumPlots.Sanitize(name));
}
