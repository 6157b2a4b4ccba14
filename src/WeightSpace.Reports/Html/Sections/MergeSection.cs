using System.Globalization;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section comparing merge methods by held-out accuracy on each fine-tune's task.</summary>
public static class MergeSection
{
    /// <summary>Builds the section and adds its headline findings to <paramref name="findings"/>.</summary>
    public static ReportSection Build(IReadOnlyList<MergeScore> scores, IReadOnlyList<string> testSets, string id, string title,
        string description, string? commandLine, IList<ReportFinding>? findings = null)
    {
        var section = new ReportSection(id, title) { Description = description, CommandLine = commandLine };
        var plot = ReportPlots.Create("Held-out accuracy by merge method", "", "accuracy");
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / Math.Max(1, testSets.Count);
        for (int t = 0; t < testSets.Count; t++)
        {
            var bars = scores.Select((s, i) => new ScottPlot.Bar
            {
                Position = i + (t - (testSets.Count - 1) / 2.0) * width,
                Value = s.Accuracy[t],
                Size = width,
                FillColor = palette.GetColor(t),
            }).ToList();
            plot.Add.Bars(bars).LegendText = testSets[t];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, scores.Count).Select(i => (double)i).ToArray(), scores.Select(s => s.Method).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 40;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        plot.Axes.SetLimitsY(0, 1.05);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        section.Figures.Add(new ReportFigure("accuracy", "Accuracy of the base, each fine-tune and each merge on the held-out test sets.", ReportPlots.ToSvg(plot, 760, 420)));

        var columns = new List<string> { "model / method", "parameters" };
        columns.AddRange(testSets.Select(t => $"accuracy {t}"));
        columns.Add("mean");
        var table = new ReportTable("methods", "Scores", columns.ToArray());
        foreach (var s in scores)
        {
            var row = new List<object?> { s.Method, s.Parameters };
            row.AddRange(s.Accuracy.Select(a => (object?)a));
            row.Add(s.MeanAccuracy);
            table.AddRow(row.ToArray());
        }
        section.Tables.Add(table);

        if (findings is not null)
        {
            var merges = scores.Where(s => !s.IsReference).ToList();
            var best = merges.MaxBy(s => s.MeanAccuracy);
            var bestInput = scores.Where(s => s.IsReference).MaxBy(s => s.MeanAccuracy);
            if (best is not null && bestInput is not null)
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Best merge: {best.Method} ({best.Parameters}) scores {best.MeanAccuracy:P1} mean accuracy over {string.Join(", ", testSets)}, vs {bestInput.MeanAccuracy:P1} for the best single model ({bestInput.Method})"),
                    best.MeanAccuracy > bestInput.MeanAccuracy ? FindingLevel.Good : FindingLevel.Info, id));
        }
        return section;
    }
}
