using System.Globalization;
using WeightSpace.Analysis.TaskVectors;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for task vectors: what each fine-tune changed, where, and whether the changes agree.</summary>
public static class TaskVectorSection
{
    /// <summary>Builds the section and adds its headline findings to <paramref name="findings"/>.</summary>
    public static ReportSection Build(TaskVectorReport report, string id, string title, string? commandLine, IList<ReportFinding>? findings = null)
    {
        string[] names = report.Models.Select(m => Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(m))).ToArray();
        var section = new ReportSection(id, title)
        {
            Description = $"Task vectors τ = θ_ft − θ_base of {string.Join(", ", names)} against {Path.GetFileName(report.BaseModel)}: " +
                          "how far each layer moved, and whether the fine-tunes pull the same way (cosine, sign agreement).",
            CommandLine = commandLine,
        };

        var groups = report.Groups;
        var plot = ReportPlots.Create("Relative change ‖τ‖ / ‖θ_base‖ by layer group", "layer group", "relative change");
        double barWidth = 0.8 / Math.Max(1, names.Length);
        var palette = new ScottPlot.Palettes.Category10();
        for (int m = 0; m < names.Length; m++)
        {
            var bars = groups.Select((g, i) => new ScottPlot.Bar
            {
                Position = i + (m - (names.Length - 1) / 2.0) * barWidth,
                Value = g.Models[m].RelativeChange,
                Size = barWidth,
                FillColor = palette.GetColor(m),
            }).ToList();
            var series = plot.Add.Bars(bars);
            series.LegendText = names[m];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.Select(g => g.Name).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = groups.Count > 6 ? 45 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = groups.Count > 6 ? ScottPlot.Alignment.MiddleLeft : ScottPlot.Alignment.UpperCenter;
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        section.Figures.Add(new ReportFigure("relative-change", "How much each layer group moved, relative to its base norm, per fine-tune.", ReportPlots.ToSvg(plot)));

        if (names.Length >= 2)
        {
            var heat = ReportPlots.Create("Cosine between task vectors (whole model)", "", "");
            double[,] cos = new double[names.Length, names.Length];
            for (int i = 0; i < names.Length; i++)
                for (int j = 0; j < names.Length; j++) cos[names.Length - 1 - i, j] = report.Whole.Cosine[i][j];
            var hm = heat.Add.Heatmap(cos);
            hm.Colormap = new ScottPlot.Colormaps.Viridis();
            hm.ManualRange = new ScottPlot.Range(-1, 1);
            heat.Add.ColorBar(hm);
            double[] ticks = Enumerable.Range(0, names.Length).Select(i => (double)i).ToArray();
            heat.Axes.Bottom.SetTicks(ticks, names);
            heat.Axes.Left.SetTicks(ticks, names.Reverse().ToArray());
            for (int i = 0; i < names.Length; i++)
                for (int j = 0; j < names.Length; j++)
                {
                    var t = heat.Add.Text(report.Whole.Cosine[i][j].ToString("F2", CultureInfo.InvariantCulture), j, names.Length - 1 - i);
                    t.LabelFontSize = 16;
                    t.LabelFontColor = ScottPlot.Colors.White;
                    t.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                }
            section.Figures.Add(new ReportFigure("cosine", "Whole-model cosine similarity between the fine-tunes' task vectors (1 = same direction, 0 = orthogonal).", ReportPlots.ToSvg(heat, 520, 420)));
        }

        var columns = new List<string> { "group", "elements", "‖θ_base‖" };
        foreach (string n in names) { columns.Add($"‖τ‖ {n}"); columns.Add($"rel. change {n}"); }
        if (names.Length >= 2) { columns.Add($"cosine {names[0]}·{names[1]}"); columns.Add($"sign agreement {names[0]}·{names[1]}"); }
        var table = new ReportTable("groups", "Layer groups, most changed first", columns.ToArray());
        foreach (var g in report.LayerRanking)
        {
            var row = new List<object?> { g.Name, g.ElementCount, g.BaseNorm };
            foreach (var m in g.Models) { row.Add(m.Norm); row.Add(m.RelativeChange); }
            if (names.Length >= 2) { row.Add(g.Cosine[0][1]); row.Add(g.SignAgreement[0][1]); }
            table.AddRow(row.ToArray());
        }
        section.Tables.Add(table);

        if (findings is not null)
        {
            var top = report.LayerRanking.FirstOrDefault();
            if (top is not null)
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Fine-tuning changed '{top.Name}' most: ‖τ‖/‖θ‖ = {top.MeanRelativeChange:P1} on average over {string.Join(", ", names)}"), FindingLevel.Info, id));
            if (names.Length >= 2)
            {
                // Entries where both moved: share with opposite signs = conflicts.
                double agree = report.Whole.SignAgreement[0][1];
                double both = BothNonZeroFraction(report.Whole);
                double conflict = both > 0 ? 1 - agree / both : 0;
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Fine-tunes {names[0]} and {names[1]} conflict in {conflict:P0} of signs where both changed the weights (whole-model cosine {report.Whole.Cosine[0][1]:F2})"),
                    conflict > 0.3 ? FindingLevel.Warning : FindingLevel.Info, id));
            }
        }
        return section;
    }

    // Sign agreement counts entries where both Δ are non-zero and agree; agreement + disagreement = both non-zero.
    // The report does not carry the disagreement directly, so read it from the diagonal of a two-model summary:
    // SignAgreement[i][i] is the fraction of entries where Δᵢ is non-zero.
    private static double BothNonZeroFraction(DeltaSummary whole) =>
        Math.Min(whole.SignAgreement[0][0], whole.SignAgreement[1][1]);
}
