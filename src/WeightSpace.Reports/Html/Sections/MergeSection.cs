namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section comparing merge methods by their held-out score on each fine-tune's task: accuracy for
/// classifiers, bits per byte on each domain's text for language models.</summary>
public static class MergeSection
{
    /// <summary>Builds the section and adds its headline findings to <paramref name="findings"/>.</summary>
    /// <param name="scores">References (base, fine-tunes) and merges.</param>
    /// <param name="testSets">Names of the test sets, in the order of each score's values.</param>
    /// <param name="id">Section anchor.</param>
    /// <param name="title">Section heading.</param>
    /// <param name="description">What the section answers.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the best-merge finding.</param>
    /// <param name="metric">What the scores are; default <see cref="MergeMetric.Accuracy"/>.</param>
    public static ReportSection Build(IReadOnlyList<MergeScore> scores, IReadOnlyList<string> testSets, string id, string title,
        string description, string? commandLine, IList<ReportFinding>? findings = null, MergeMetric? metric = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(testSets);
        metric ??= MergeMetric.Accuracy;
        foreach (var s in scores)
            if (s.Values.Count != testSets.Count)
                throw new ArgumentException($"score '{s.Method}' has {s.Values.Count} values for {testSets.Count} test sets", nameof(scores));
        var section = new ReportSection(id, title) { Description = description, CommandLine = commandLine };
        var plot = ReportPlots.Create($"Held-out {metric.Name} by merge method", "", metric.Name);
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / Math.Max(1, testSets.Count);
        for (int t = 0; t < testSets.Count; t++)
        {
            var bars = scores.Select((s, i) => new ScottPlot.Bar
            {
                Position = i + (t - (testSets.Count - 1) / 2.0) * width,
                Value = s.Values[t],
                Size = width,
                FillColor = palette.GetColor(t),
            }).ToList();
            plot.Add.Bars(bars).LegendText = testSets[t];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, scores.Count).Select(i => (double)i).ToArray(), scores.Select(s => s.Method).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 40;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        double top = metric.AxisMaximum ?? 1.15 * scores.SelectMany(s => s.Values).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimitsY(0, top);
        plot.ShowLegend(metric.HigherIsBetter ? ScottPlot.Alignment.LowerRight : ScottPlot.Alignment.UpperRight);
        string better = metric.HigherIsBetter ? "higher is better" : "lower is better";
        section.Figures.Add(new ReportFigure(metric == MergeMetric.Accuracy ? "accuracy" : "scores",
            $"{char.ToUpperInvariant(metric.Name[0])}{metric.Name[1..]} of the base, each fine-tune and each merge on the held-out test sets ({better}).",
            ReportPlots.ToSvg(plot, 760, 420)));

        var columns = new List<string> { "model / method", "parameters" };
        columns.AddRange(testSets.Select(t => $"{metric.Name} {t}"));
        columns.Add("mean");
        var table = new ReportTable("methods", "Scores", columns.ToArray());
        foreach (var s in scores)
        {
            var row = new List<object?> { s.Method, s.Parameters };
            row.AddRange(s.Values.Select(a => (object?)a));
            row.Add(s.Mean);
            table.AddRow(row.ToArray());
        }
        section.Tables.Add(table);

        if (findings is not null)
        {
            Func<MergeScore, double> key = s => metric.HigherIsBetter ? s.Mean : -s.Mean;
            var best = scores.Where(s => !s.IsReference).MaxBy(key);
            var bestInput = scores.Where(s => s.IsReference).MaxBy(key);
            if (best is not null && bestInput is not null)
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Best merge: {best.Method} ({best.Parameters}) scores {metric.Format(best.Mean)} mean {metric.Name} over {string.Join(", ", testSets)}, vs {metric.Format(bestInput.Mean)} for the best single model ({bestInput.Method})"),
                    metric.IsBetter(best.Mean, bestInput.Mean) ? FindingLevel.Good : FindingLevel.Info, id));
        }
        return section;
    }
}
