using ScottPlot;
using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Reports.Spectra;

namespace WeightSpace.Reports.TaskVectors;

/// <summary>The plots of a task-vector report (<c>weightspace diff --plots DIR</c> and the HTML report's section).</summary>
/// <remarks>
/// Files, each as SVG and PNG: <c>relative-change</c> (‖τ‖/‖θ₀‖ by layer group, one bar per fine-tune),
/// <c>top-mass</c> (share of Σ|τ| held by the top 1% of entries, by layer group); with two or more fine-tunes
/// <c>cosine</c> and <c>sign-agreement</c> (whole-model matrices) and <c>cosine-by-group</c> (each pair's cosine by layer
/// group); and <c>singular-values_NN_tensor</c> for the most changed 2-D tensors (leading singular values of each τ).
/// </remarks>
public static class TaskVectorPlots
{
    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    /// <summary>Writes every plot into <paramref name="directory"/> (created if absent), each file through a temp file and a rename.</summary>
    /// <param name="report">The analysis.</param>
    /// <param name="directory">Output folder.</param>
    /// <param name="singularValueTensors">How many of the most changed 2-D tensors get a singular-value plot.</param>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> WriteAll(TaskVectorReport report, string directory, int singularValueTensors = 4)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        void Save(Plot plot, string stem, int width = ReportPlots.Width, int height = ReportPlots.Height)
        {
            string path = Path.Combine(directory, stem);
            ReportPlots.Save(plot, path, width, height);
            written.Add(path + ".svg");
            written.Add(path + ".png");
        }
        Save(RelativeChange(report), "relative-change", 900, 480);
        Save(TopMass(report), "top-mass", 900, 480);
        if (report.Models.Count >= 2)
        {
            Save(PairMatrix(report, "Cosine between task vectors (whole model)", report.Whole.Cosine, -1), "cosine", 560, 460);
            Save(PairMatrix(report, "Sign agreement (share of entries; diagonal: share changed)", report.Whole.SignAgreement, 0), "sign-agreement", 560, 460);
            Save(CosineByGroup(report), "cosine-by-group", 900, 480);
        }
        var tensors = report.Tensors.Where(t => t.Models.Any(m => m.TopSingularValues.Count > 0))
            .OrderByDescending(t => t.MeanRelativeChange).ThenBy(t => t.Name, StringComparer.Ordinal).Take(singularValueTensors).ToList();
        for (int i = 0; i < tensors.Count; i++)
            Save(SingularValues(report, tensors[i]), $"singular-values_{i + 1:D2}_{SpectrumPlots.Sanitize(tensors[i].Name)}");
        return written;
    }

    /// <summary>Short labels for the fine-tunes: file names without extension.</summary>
    public static string[] ModelLabels(TaskVectorReport report) =>
        report.Models.Select(m => Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(m))).ToArray();

    /// <summary>‖τ‖/‖θ₀‖ by layer group, one bar per fine-tune.</summary>
    public static Plot RelativeChange(TaskVectorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = ReportPlots.Create("Relative change ‖τ‖ / ‖θ_base‖ by layer group", "layer group", "relative change");
        GroupedBars(plot, report, m => m.RelativeChange);
        return plot;
    }

    /// <summary>Share of Σ|τ| in the top 1% (the first of the report's top fractions) of entries, by layer group.</summary>
    public static Plot TopMass(TaskVectorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = ReportPlots.Create("How concentrated each change is: share of Σ|τ| in the top 1% of entries", "layer group", "share of Σ|τ|");
        GroupedBars(plot, report, m => m.TopMassFractions.Count > 0 ? m.TopMassFractions[0] : 0);
        plot.Axes.SetLimitsY(0, 1);
        return plot;
    }

    /// <summary>A models × models matrix as a heatmap with the values written in the cells.</summary>
    /// <param name="report">The analysis (for the labels).</param>
    /// <param name="title">Plot title.</param>
    /// <param name="values">The matrix, rows and columns in model order.</param>
    /// <param name="minimum">Lower end of the colour range (−1 for cosines, 0 for shares); the upper end is 1.</param>
    public static Plot PairMatrix(TaskVectorReport report, string title, double[][] values, double minimum)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(values);
        string[] names = ModelLabels(report);
        int n = names.Length;
        var plot = ReportPlots.Create(title, "", "");
        var flipped = new double[n, n];   // heatmap rows run bottom-up
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) flipped[n - 1 - i, j] = values[i][j];
        var heatmap = plot.Add.Heatmap(flipped);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(minimum, 1);
        plot.Add.ColorBar(heatmap);
        double[] ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, names);
        plot.Axes.Left.SetTicks(ticks, names.Reverse().ToArray());
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var text = plot.Add.Text(values[i][j].ToString("F2", CultureInfo.InvariantCulture), j, n - 1 - i);
                text.LabelFontSize = 16;
                text.LabelFontColor = Colors.White;
                text.LabelAlignment = Alignment.MiddleCenter;
            }
        return plot;
    }

    /// <summary>Each pair's cosine between task vectors, by layer group: where the fine-tunes pull the same way.</summary>
    public static Plot CosineByGroup(TaskVectorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        string[] names = ModelLabels(report);
        var plot = ReportPlots.Create("Cosine between task vectors by layer group", "layer group", "cosine");
        double[] xs = Enumerable.Range(0, report.Groups.Count).Select(i => (double)i).ToArray();
        int color = 0;
        for (int a = 0; a < names.Length; a++)
            for (int b = a + 1; b < names.Length; b++)
            {
                var line = plot.Add.Scatter(xs, report.Groups.Select(g => g.Cosine[a][b]).ToArray(), Palette.GetColor(color++));
                line.LegendText = $"{names[a]} · {names[b]}";
                line.MarkerSize = 6;
            }
        plot.Add.HorizontalLine(0, color: Colors.Gray);
        GroupTicks(plot, report);
        plot.Axes.SetLimitsY(-1.05, 1.05);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>Leading singular values of one 2-D tensor's τ, one line per fine-tune (log scale).</summary>
    public static Plot SingularValues(TaskVectorReport report, DeltaSummary tensor)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(tensor);
        string[] names = ModelLabels(report);
        var plot = ReportPlots.Create($"Singular values of τ: {tensor.Name}", "index k", "log10 σ_k");
        for (int m = 0; m < names.Length; m++)
        {
            var sv = tensor.Models[m].TopSingularValues;
            if (sv.Count == 0) continue;
            double[] xs = Enumerable.Range(1, sv.Count).Select(k => (double)k).ToArray();
            double[] ys = sv.Select(s => Math.Log10(Math.Max(s, 1e-30))).ToArray();
            var line = plot.Add.Scatter(xs, ys, Palette.GetColor(m));
            string rank = tensor.Models[m].EffectiveRank is double r ? r.ToString("F1", CultureInfo.InvariantCulture) : "–";
            line.LegendText = $"{names[m]} (eff. rank {rank})";
            line.MarkerSize = 5;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static void GroupedBars(Plot plot, TaskVectorReport report, Func<ModelDelta, double> value)
    {
        string[] names = ModelLabels(report);
        double width = 0.8 / Math.Max(1, names.Length);
        for (int m = 0; m < names.Length; m++)
        {
            var bars = report.Groups.Select((g, i) => new Bar
            {
                Position = i + (m - (names.Length - 1) / 2.0) * width,
                Value = Finite(value(g.Models[m])),
                Size = width,
                FillColor = Palette.GetColor(m),
            }).ToList();
            plot.Add.Bars(bars).LegendText = names[m];
        }
        GroupTicks(plot, report);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
    }

    private static void GroupTicks(Plot plot, TaskVectorReport report)
    {
        var groups = report.Groups;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.Select(g => g.Name).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = groups.Count > 6 ? 45 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = groups.Count > 6 ? Alignment.MiddleLeft : Alignment.UpperCenter;
    }

    // ‖τ‖/‖θ₀‖ is +∞ for a group whose base is all zeros: draw it as 0 rather than break the axis (the table shows ∞).
    private static double Finite(double x) => double.IsFinite(x) ? x : 0;
}
