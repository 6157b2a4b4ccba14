using ScottPlot;
using WeightSpace.Analysis.Naming;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Analysis.TaskVectors;

namespace WeightSpace.Reports.Transformer;

/// <summary>The transformer view of per-tensor metrics: a block × role heatmap and per-role profiles across depth,
/// for the spectra (α, λ_max, stable rank) and the task vectors (‖Δ‖/‖θ₀‖, effective rank of Δ).</summary>
public static class LayerRolePlots
{
    private const int Width = 900, Height = 560;

    /// <summary>What is drawn when the names follow no known convention.</summary>
    public const string FallbackNote = "tensor names follow no known transformer convention (no block index and role): layer × role heatmaps are not drawn, the flat per-tensor view stands";

    /// <summary>The spectral metrics of <paramref name="report"/> as grids (α, λ_max, stable rank), each with its file
    /// stem and label; empty when the naming is unknown.</summary>
    public static IReadOnlyList<(string Stem, string Metric, LayerRoleGrid Grid)> SpectrumGrids(SpectrumReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var ok = report.Layers.Where(l => l.Status == LayerStatus.Ok).ToList();
        var metrics = new (string Stem, string Metric, Func<LayerSpectrum, double?> Pick)[]
        {
            ("alpha", "α (power-law exponent)", l => l.Alpha),
            ("lambda-max", "λ_max", l => l.LambdaMax),
            ("stable-rank", "stable rank", l => l.StableRank),
        };
        return [.. metrics.Select(m => (m.Stem, m.Metric, Grid: LayerRoleGrid.Build(ok.Select(l => (l.Name, m.Pick(l))))))
            .Where(m => m.Grid is not null).Select(m => (m.Stem, m.Metric, m.Grid!))];
    }

    /// <summary>The task-vector metrics of <paramref name="report"/> per fine-tune (‖Δ‖/‖θ₀‖, effective rank of Δ);
    /// empty when the naming is unknown.</summary>
    public static IReadOnlyList<(string Stem, string Metric, LayerRoleGrid Grid)> DiffGrids(TaskVectorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var result = new List<(string, string, LayerRoleGrid)>();
        for (int m = 0; m < report.Models.Count; m++)
        {
            string model = Path.GetFileName(report.Models[m].TrimEnd('/', '\\'));
            var relative = LayerRoleGrid.Build(report.Tensors.Select(t => (t.Name, (double?)t.Models[m].RelativeChange)));
            var rank = LayerRoleGrid.Build(report.Tensors.Select(t => (t.Name, t.Models[m].EffectiveRank)));
            if (relative is not null) result.Add(($"model{m + 1}.relative-change", $"‖Δ‖/‖θ₀‖ of {model}", relative));
            if (rank is not null) result.Add(($"model{m + 1}.effective-rank", $"effective rank of Δ of {model}", rank));
        }
        return result;
    }

    /// <summary>Blocks down, roles across, colour = the metric (empty cells blank).</summary>
    public static Plot Heatmap(LayerRoleGrid grid, string metric)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var plot = ReportPlots.Create($"{metric} by block and role", "role", "block");
        var cells = new double[grid.Layers.Count, grid.Roles.Count];
        for (int r = 0; r < grid.Layers.Count; r++)
            for (int c = 0; c < grid.Roles.Count; c++)
                cells[r, c] = grid.Values[r][c];
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        // No Position: ScottPlot centres cell (r, c) of a unit grid on (c, rows − 1 − r), so row 0 (block 0) is on top.
        plot.Add.ColorBar(heatmap).Label = metric;
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, grid.Roles.Count).Select(i => (double)i)], [.. grid.Roles.Select(LayerRoleGrid.Label)]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, grid.Layers.Count).Select(i => (double)(grid.Layers.Count - 1 - i))], [.. grid.Layers.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        return plot;
    }

    /// <summary>One line per role: the metric against block index.</summary>
    public static Plot Profiles(LayerRoleGrid grid, string metric)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var plot = ReportPlots.Create($"{metric} across depth, per role", "block", metric);
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < grid.Roles.Count; c++)
        {
            var points = Enumerable.Range(0, grid.Layers.Count).Where(r => double.IsFinite(grid.Values[r][c])).ToArray();
            if (points.Length == 0) continue;
            var s = plot.Add.Scatter(points.Select(r => (double)grid.Layers[r]).ToArray(), points.Select(r => grid.Values[r][c]).ToArray(), palette.GetColor(c));
            s.LineWidth = 2;
            s.MarkerSize = 5;
            s.LegendText = LayerRoleGrid.Label(grid.Roles[c]);
        }
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Writes <c>layer-role.STEM.heatmap</c> and <c>layer-role.STEM.profiles</c> (SVG and PNG) for each grid
    /// into <paramref name="directory"/>.</summary>
    /// <returns>The files written; empty when there is no grid (the caller prints <see cref="FallbackNote"/>).</returns>
    public static IReadOnlyList<string> WriteAll(IReadOnlyList<(string Stem, string Metric, LayerRoleGrid Grid)> grids, string directory)
    {
        ArgumentNullException.ThrowIfNull(grids);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var (stem, metric, grid) in grids)
        {
            foreach (var (kind, plot) in new[] { ("heatmap", Heatmap(grid, metric)), ("profiles", Profiles(grid, metric)) })
            {
                string path = Path.Combine(directory, $"layer-role.{stem}.{kind}");
                AtomicFile.WriteAllText(path + ".svg", ReportPlots.ToSvg(plot, Width, Height));
                AtomicFile.WriteAllBytes(path + ".png", plot.GetImageBytes(Width, Height, ImageFormat.Png));
                written.Add(path + ".svg");
                written.Add(path + ".png");
            }
        }
        return written;
    }
}
