using ScottPlot;
using WeightSpace.Analysis.Neurons;
using WeightSpace.Analysis.Outliers;

namespace WeightSpace.Reports.Neurons;

/// <summary>Plots of <c>weightspace neurons --plots DIR</c> and <c>weightspace outliers</c>' report section.</summary>
/// <remarks>Files, each as SVG and PNG: <c>top1-tokens</c> (the tokens most often a neuron's top-1, all layers);
/// with a baseline <c>top1-unchanged</c> (share of neurons whose top-1 token stayed, by layer) and
/// <c>logit-cosine</c> (histogram of the per-neuron logit cosine).</remarks>
public static class NeuronPlots
{
    /// <summary>Writes every plot into <paramref name="directory"/> (created if absent), each through a temp file and a rename.</summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> WriteAll(NeuronDecoding result, TokenVocabulary? vocabulary, string directory)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        void Save(Plot plot, string stem)
        {
            string path = Path.Combine(directory, stem);
            ReportPlots.Save(plot, path, 900, 480);
            written.Add(path + ".svg");
            written.Add(path + ".png");
        }
        Save(TopTokens(result, vocabulary), "top1-tokens");
        if (result.Baseline is not null)
        {
            Save(UnchangedByLayer(result), "top1-unchanged");
            Save(CosineHistogram(result), "logit-cosine");
        }
        return written;
    }

    /// <summary>The 20 tokens that are most often some neuron's top-1 token, with their neuron counts.</summary>
    public static Plot TopTokens(NeuronDecoding result, TokenVocabulary? vocabulary)
    {
        ArgumentNullException.ThrowIfNull(result);
        var counts = new Dictionary<int, int>();
        foreach (var layer in result.Layers)
            for (int j = 0; j < layer.NeuronCount; j++)
                counts[layer.Tokens(j)[0]] = counts.GetValueOrDefault(layer.Tokens(j)[0]) + 1;
        var top = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key).Take(20).ToList();
        var plot = ReportPlots.Create("Tokens most often a neuron's top-1 (all MLP layers)", "token", "neurons");
        plot.Add.Bars(Enumerable.Range(0, top.Count).Select(i => (double)i).ToArray(), top.Select(t => (double)t.Value).ToArray());
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, top.Count).Select(i => (double)i).ToArray(),
            top.Select(t => "'" + NeuronTokensText.Token(vocabulary, t.Key) + "'").ToArray());
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>Share of neurons whose top-1 token is the baseline's, by layer.</summary>
    public static Plot UnchangedByLayer(NeuronDecoding result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var plot = ReportPlots.Create("Neurons whose top-1 token stayed the baseline's", "layer", "share of neurons");
        var xs = Enumerable.Range(0, result.Layers.Count).Select(i => (double)i).ToArray();
        plot.Add.Bars(xs, result.Layers.Select(l => l.ShareTop1Unchanged ?? 0).ToArray());
        plot.Axes.Bottom.SetTicks(xs, result.Layers.Select(l => l.Layer?.ToString(CultureInfo.InvariantCulture) ?? l.Tensor).ToArray());
        plot.Axes.SetLimitsY(0, 1);
        return plot;
    }

    /// <summary>Histogram of the per-neuron cosine between the model's and the baseline's centred logit vectors.</summary>
    public static Plot CosineHistogram(NeuronDecoding result)
    {
        ArgumentNullException.ThrowIfNull(result);
        const int bins = 40;
        var counts = new double[bins];
        foreach (var layer in result.Layers)
            foreach (float c in layer.LogitCosine ?? [])
                counts[Math.Clamp((int)((c + 1) / 2 * bins), 0, bins - 1)]++;
        var plot = ReportPlots.Create("Cosine of each neuron's logit vector with the baseline's", "cosine", "neurons");
        var bars = Enumerable.Range(0, bins).Select(i => new Bar { Position = -1 + (i + 0.5) * 2.0 / bins, Value = counts[i], Size = 2.0 / bins }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>The largest |w| / RMS of each matrix, in checkpoint order.</summary>
    public static Plot OutlierRatios(IReadOnlyList<MatrixOutliers> matrices)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        var plot = ReportPlots.Create("Largest weight of each matrix, in RMS units", "matrix (checkpoint order)", "max |w| / RMS");
        var xs = Enumerable.Range(0, matrices.Count).Select(i => (double)i).ToArray();
        plot.Add.ScatterPoints(xs, matrices.Select(m => m.Outliers.Count > 0 ? m.Outliers[0].RatioToRms : 0).ToArray());
        return plot;
    }

    /// <summary>|down_proj output| spike by layer (the super weight's layer stands out).</summary>
    public static Plot Spikes(SuperWeightReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = ReportPlots.Create("Largest |down_proj output| by layer", "layer", "max |activation|");
        var xs = report.Layers.Select(l => (double)l.Layer).ToArray();
        plot.Add.Bars(xs, report.Layers.Select(l => (double)Math.Abs(l.MaxOutput)).ToArray());
        plot.Axes.Margins(bottom: 0);
        return plot;
    }
}
