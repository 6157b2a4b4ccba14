using WeightSpace.Analysis.Neurons;
using WeightSpace.Reports.Neurons;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for neuron → token decoding (<c>weightspace neurons --report</c>).</summary>
public static class NeuronsSection
{
    /// <summary>Builds the section and, with a baseline, adds the share of unchanged neurons to <paramref name="findings"/>.</summary>
    /// <param name="result">The decoding.</param>
    /// <param name="vocabulary">Token texts, or null.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the headline finding.</param>
    /// <param name="neuronsPerLayer">Neurons listed per layer in the table of decoded neurons.</param>
    /// <param name="id">The section's anchor (unique within a report).</param>
    /// <param name="title">The section's heading.</param>
    public static ReportSection Build(NeuronDecoding result, TokenVocabulary? vocabulary, string? commandLine, IList<ReportFinding>? findings = null, int neuronsPerLayer = 8,
        string id = "neurons", string title = "MLP neurons as tokens")
    {
        ArgumentNullException.ThrowIfNull(result);
        var section = new ReportSection(id, title)
        {
            Description = "Each MLP neuron's output direction (a column of down_proj) projected onto the unembedding" +
                (result.FinalNorm is null ? "" : " after the final norm's weight") + " (Dar et al. 2023, Analyzing Transformers in Embedding Space): the tokens it promotes.",
            CommandLine = commandLine,
        };
        section.Figures.Add(new ReportFigure("top1-tokens", "Tokens most often a neuron's top-1 token.", ReportPlots.ToSvg(NeuronPlots.TopTokens(result, vocabulary), 900, 480)));
        if (result.Baseline is not null)
        {
            section.Figures.Add(new ReportFigure("top1-unchanged", "Share of neurons whose top-1 token is the baseline's, by layer.", ReportPlots.ToSvg(NeuronPlots.UnchangedByLayer(result), 900, 480)));
            section.Figures.Add(new ReportFigure("logit-cosine", "Cosine of each neuron's centred logit vector with the baseline's.", ReportPlots.ToSvg(NeuronPlots.CosineHistogram(result), 900, 480)));
            var layers = new ReportTable("neuron-layers", "Top-1 token unchanged, by layer", "tensor", "neurons", "top-1 unchanged", "share");
            foreach (var l in result.Layers) layers.AddRow(l.Tensor, (long)l.NeuronCount, (long)(l.Top1Unchanged ?? 0), l.ShareTop1Unchanged ?? 0);
            section.Tables.Add(layers);
            var changed = new ReportTable("neurons-changed", "Neurons that changed most (lowest top-k overlap, then lowest logit cosine)",
                "layer", "neuron", "top-k overlap", "logit cosine", "tokens now", "baseline tokens");
            foreach (var c in result.MostChanged)
                changed.AddRow((long)(c.Layer ?? -1), (long)c.Neuron, (double)c.TopKOverlap, (double)c.LogitCosine,
                    NeuronTokensText.List(vocabulary, c.TokenIds, 5), NeuronTokensText.List(vocabulary, c.BaselineTokenIds, 5));
            section.Tables.Add(changed);
            findings?.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                $"{result.ShareTop1Unchanged:P1} of {result.NeuronCount} MLP neurons keep their top-1 token versus the baseline"),
                result.ShareTop1Unchanged >= 0.5 ? FindingLevel.Info : FindingLevel.Warning, "neurons"));
        }
        var decoded = new ReportTable("neurons-decoded", $"First {neuronsPerLayer} neurons of each layer", "layer", "neuron", "top tokens");
        foreach (var l in result.Layers)
            for (int j = 0; j < Math.Min(neuronsPerLayer, l.NeuronCount); j++)
                decoded.AddRow((long)(l.Layer ?? -1), (long)j, NeuronTokensText.List(vocabulary, l.Tokens(j)));
        section.Tables.Add(decoded);
        section.Notes.Add($"Unembedding {result.Unembedding}; final norm {result.FinalNorm ?? "not applied"}; top {result.TopK} tokens per neuron.");
        return section;
    }
}
