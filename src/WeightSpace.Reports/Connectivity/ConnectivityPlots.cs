using ScottPlot;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Alignment;

namespace WeightSpace.Reports.Connectivity;

/// <summary>Figures of linear mode connectivity: loss and accuracy along the path, and the loss over a plane.</summary>
public static class ConnectivityPlots
{
    private static readonly Color[] Palette = [Colors.C0, Colors.C1, Colors.C2, Colors.C3];

    /// <summary>Loss (left axis, thick line) and accuracy (right axis, thin line with squares) against α for each labelled curve.</summary>
    public static Plot Curves(IReadOnlyList<KeyValuePair<string, ConnectivityCurve>> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var plot = ReportPlots.Create("Linear interpolation θ(α) = (1−α)θ_A + αθ_B", "α", "loss (cross-entropy)");
        plot.Axes.Right.Label.Text = "accuracy";
        for (int i = 0; i < curves.Count; i++)
        {
            var (label, curve) = curves[i];
            var color = Palette[i % Palette.Length];
            var loss = plot.Add.Scatter(curve.Alphas, curve.Loss, color);
            loss.LineWidth = 2.5f;
            loss.LegendText = $"{label} loss (barrier {curve.BarrierLoss:F3})";
            var accuracy = plot.Add.Scatter(curve.Alphas, curve.Accuracy, color);
            // Skia's SVG backend cannot write dash effects (it prints a warning per path), so accuracy is a thin line with square markers.
            accuracy.LineWidth = 1;
            accuracy.MarkerShape = MarkerShape.FilledSquare;
            accuracy.Axes.YAxis = plot.Axes.Right;
            accuracy.LegendText = $"{label} accuracy";
        }
        plot.ShowLegend(Alignment.UpperCenter);
        return plot;
    }

    /// <summary>One metric (loss or accuracy) against α for each labelled curve: the report's two figures.</summary>
    public static Plot Metric(IReadOnlyList<(string Label, ConnectivityCurve Curve)> curves, bool accuracy)
    {
        ArgumentNullException.ThrowIfNull(curves);
        string metric = accuracy ? "accuracy" : "loss";
        var plot = ReportPlots.Create($"Test {metric} along θ(α) = (1−α)θ_A + αθ_B", "α", accuracy ? "test accuracy" : "test loss (cross-entropy)");
        for (int i = 0; i < curves.Count; i++)
        {
            var s = plot.Add.Scatter(curves[i].Curve.Alphas, accuracy ? curves[i].Curve.Accuracy : curves[i].Curve.Loss, Palette[i % Palette.Length]);
            s.LineWidth = 2;
            s.MarkerSize = 5;
            s.LegendText = curves[i].Label;
        }
        plot.ShowLegend(accuracy ? Alignment.LowerRight : Alignment.UpperRight);
        return plot;
    }

    /// <summary>Weight-space distance per permutation group before and after alignment (bars).</summary>
    public static Plot GroupDistances(AlignmentResult alignment)
    {
        ArgumentNullException.ThrowIfNull(alignment);
        var plot = ReportPlots.Create("Weight-space distance per permutation group", "group", "‖θ_A − θ_B‖ over the group's tensors");
        string[] names = alignment.Groups.Select(g => g.Group).ToArray();
        foreach (var (label, pick, offset, color) in new (string, Func<GroupAlignment, double>, double, Color)[]
                 { ("before", g => g.DistanceBefore, -0.2, Palette[0]), ("after alignment", g => g.DistanceAfter, 0.2, Palette[2]) })
        {
            var bars = alignment.Groups.Select((g, i) => new Bar { Position = i + offset, Value = pick(g), Size = 0.4, FillColor = color }).ToList();
            plot.Add.Bars(bars).LegendText = label;
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Length).Select(i => (double)i).ToArray(), names);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>A heatmap of the loss over the plane through three models, with the models marked A, B, C.</summary>
    public static Plot Plane(LossPlane plane)
    {
        ArgumentNullException.ThrowIfNull(plane);
        int nx = plane.X.Length, ny = plane.Y.Length;
        // Heatmap rows run top to bottom, so the largest y comes first.
        var intensities = new double[ny, nx];
        for (int j = 0; j < ny; j++)
            for (int i = 0; i < nx; i++)
                intensities[ny - 1 - j, i] = plane.Loss[j * nx + i];
        var plot = ReportPlots.Create("Loss over the plane through θ_A, θ_B, θ_C", "u (along θ_B − θ_A)", "v");
        var heatmap = plot.Add.Heatmap(intensities);
        // ScottPlot's Position is the rectangle through the centres of the edge cells (the drawn area is one cell larger).
        heatmap.Position = new CoordinateRect(plane.X[0], plane.X[^1], plane.Y[0], plane.Y[^1]);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        string[] names = ["A", "B", "C"];
        for (int m = 0; m < plane.ModelX.Length && m < names.Length; m++)
        {
            plot.Add.Marker(plane.ModelX[m], plane.ModelY[m], MarkerShape.FilledCircle, 8, Colors.White);
            var text = plot.Add.Text(names[m], plane.ModelX[m], plane.ModelY[m]);
            text.LabelFontColor = Colors.White;
            text.LabelFontSize = 14;
        }
        return plot;
    }

    /// <summary>Writes <paramref name="plot"/> to <paramref name="path"/> as SVG or PNG (by extension) through a temp file
    /// and a rename.</summary>
    /// <exception cref="ArgumentException">The extension is neither .svg nor .png.</exception>
    public static void Save(Plot plot, string path, int width = ReportPlots.Width, int height = ReportPlots.Height)
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentNullException.ThrowIfNull(path);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".svg": AtomicFile.WriteAllText(path, ReportPlots.ToSvg(plot, width, height)); break;
            case ".png": AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png)); break;
            default: throw new ArgumentException($"'{path}': a plot is written as .svg or .png.", nameof(path));
        }
    }
}
