using WeightSpace.Analysis.Heads;
using WeightSpace.Analysis.RankProfile;
using WeightSpace.Analysis.Similarity;
using WeightSpace.Reports.Heads;
using WeightSpace.Reports.RankProfile;
using WeightSpace.Reports.Similarity;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report sections of the transformer view: attention heads (with a baseline, the heads that changed most)
/// the rank profile and layer similarity.</summary>
public static class TransformerSections
{
    /// <summary>The attention-head section: layer × head heatmaps and the most-changed heads.</summary>
    public static ReportSection Heads(AttentionHeadReport report, string id, string title, string? commandLine, int top = 8)
    {
        ArgumentNullException.ThrowIfNull(report);
        var l = report.Layout;
        var section = new ReportSection(id, title)
        {
            Description = string.Create(CultureInfo.InvariantCulture,
                $"Spectra of each head's circuits W_QK = W_Q,hᵀW_K,h and W_OV = W_O,hW_V,h ({l.HeadCount} heads, {l.KeyValueHeadCount} KV heads, head_dim {l.HeadDim}), exact from thin factors."),
            CommandLine = commandLine,
        };
        if (report.Baseline is not null)
        {
            section.Figures.Add(new ReportFigure(id + "-qk-change", "Relative change of W_QK per head against the base.",
                ReportPlots.ToSvg(HeadPlots.Heatmap(report, "‖ΔW_QK‖_F / ‖W_QK,base‖_F", h => h.QueryKeyChange ?? double.NaN))));
            section.Figures.Add(new ReportFigure(id + "-ov-change", "Relative change of W_OV per head against the base.",
                ReportPlots.ToSvg(HeadPlots.Heatmap(report, "‖ΔW_OV‖_F / ‖W_OV,base‖_F", h => h.OutputValueChange ?? double.NaN))));
            var table = new ReportTable(id + "-most-changed", "Heads that changed most", "layer", "head", "ΔQK rel", "ΔOV rel");
            foreach (var h in report.MostChanged(top)) table.AddRow(h.Layer, h.Head, h.QueryKeyChange, h.OutputValueChange);
            section.Tables.Add(table);
        }
        section.Figures.Add(new ReportFigure(id + "-ov-erank", "Roy–Vetterli effective rank of W_OV per head.",
            ReportPlots.ToSvg(HeadPlots.Heatmap(report, "Effective rank of W_OV", h => h.OutputValue.EffectiveRank))));
        return section;
    }

    /// <summary>The rank-profile section: energy and suggested ranks across depth, and the per-matrix table.</summary>
    public static ReportSection Ranks(IReadOnlyList<MatrixRanks> profile, string id, string title, string? commandLine)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var section = new ReportSection(id, title)
        {
            Description = "Rank holding 90/95/99 % of Σσ², numerical rank, and the suggested rank (eigenvalues in the power-law tail of the WeightWatcher fit).",
            CommandLine = commandLine,
        };
        section.Figures.Add(new ReportFigure(id + "-energy95", "Rank at 95 % energy as a fraction of the full rank, by role across depth.",
            ReportPlots.ToSvg(RankProfileReport.RankFractionByDepth(profile, false))));
        section.Figures.Add(new ReportFigure(id + "-suggested", "Suggested rank as a fraction of the full rank, by role across depth.",
            ReportPlots.ToSvg(RankProfileReport.RankFractionByDepth(profile, true))));
        var table = new ReportTable(id + "-table", "Ranks per matrix", "matrix", "full", "numerical", "90 %", "95 %", "99 %", "suggested");
        foreach (var m in profile) table.AddRow(m.Name, m.FullRank, m.NumericalRank, m.RankAtEnergy(0.90), m.RankAtEnergy(0.95), m.RankAtEnergy(0.99), m.SuggestedRank);
        section.Tables.Add(table);
        return section;
    }

    /// <summary>The layer-similarity section: with hidden states the across-depth figure and the block / state tables,
    /// and always the weight-only tables (each matrix against the same role in the next block, and against the baseline).</summary>
    public static ReportSection Similarity(SimilarityReport report, string id, string title, string? commandLine)
    {
        ArgumentNullException.ThrowIfNull(report);
        var section = new ReportSection(id, title)
        {
            Description = (report.Text is null
                ? "Weight-only variant (no text given): each matrix read as a representation of its input coordinates (X = Wᵀ) and compared"
                : string.Create(CultureInfo.InvariantCulture, $"Hidden states on {Path.GetFileName(report.Text)} ({report.Samples} tokens): each block's input against its output, ") +
                  "and in weight space each matrix") +
                " with linear CKA (Kornblith et al. 2019), the linearity score (Razzhigaev et al. 2024) and orthogonal-Procrustes similarity.",
            CommandLine = commandLine,
        };
        if (report.Blocks.Count > 0)
            section.Figures.Add(new ReportFigure(id + "-depth", "CKA and linearity of each block's input against its output, across depth.",
                ReportPlots.ToSvg(SimilarityReportWriter.AcrossDepth(report))));
        void Add(string tableId, string tableTitle, IReadOnlyList<LayerPairSimilarity> rows)
        {
            if (rows.Count == 0) return;
            var table = new ReportTable(id + "-" + tableId, tableTitle, "compared", "layer", "CKA", "linearity", "Procrustes");
            foreach (var r in rows) table.AddRow(r.Label, r.Layer, r.Scores.Cka, r.Scores.Linearity, r.Scores.Procrustes);
            section.Tables.Add(table);
        }
        Add("blocks", "Block input → output (hidden states)", report.Blocks);
        Add("against-blocks", $"{Path.GetFileName(report.Against)}: block input → output", report.AgainstBlocks);
        Add("states", "Same residual-stream state of both models", report.CrossModel);
        Add("weights-consecutive", "Weights: each matrix against the same role in the next block", report.ConsecutiveWeights);
        Add("weights-cross", "Weights: each matrix against the baseline's", report.CrossModelWeights);
        return section;
    }
}
