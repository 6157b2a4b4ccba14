using ScottPlot;
using WeightSpace.Analysis.Language;
using WeightSpace.Reports.Connectivity;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for the loss of language models along θ(α) = (1−α)θ_A + αθ_B (and over the plane through a
/// third model): NLL per byte of each text, the barrier, and the endpoints' own scores.</summary>
public static class LanguageModelConnectivitySection
{
    private static readonly Color[] Palette = [Colors.C0, Colors.C1, Colors.C2, Colors.C3, Colors.C4, Colors.C5];

    /// <summary>NLL per byte of each text (thin) and their mean (thick) against α, with the chord between the endpoints.</summary>
    public static Plot CurvePlot(LanguageModelConnectivityCurve curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var plot = ReportPlots.Create("Language-model loss along θ(α) = (1−α)θ_A + αθ_B", "α", "NLL per byte (nats)");
        for (int t = 0; t < curve.Texts.Length; t++)
        {
            var s = plot.Add.Scatter(curve.Alphas, curve.NllPerByte[t], Palette[t % Palette.Length]);
            s.LineWidth = 1.5f;
            s.MarkerSize = 4;
            s.LegendText = Path.GetFileName(curve.Texts[t]);
        }
        var mean = plot.Add.Scatter(curve.Alphas, curve.MeanNllPerByte, Colors.Black);
        mean.LineWidth = 3;
        mean.MarkerSize = 6;
        mean.LegendText = string.Create(CultureInfo.InvariantCulture, $"mean (barrier {curve.Barrier:F4})");
        // The chord: what the mean would be if the path were linear in loss; the barrier is the gap above it.
        var chord = plot.Add.Scatter(new[] { curve.Alphas[0], curve.Alphas[^1] }, new[] { curve.MeanNllPerByte[0], curve.MeanNllPerByte[^1] }, Colors.Gray);
        chord.LineWidth = 1;
        chord.MarkerSize = 0;
        chord.LegendText = "chord of the mean";
        plot.ShowLegend(Alignment.UpperCenter);
        return plot;
    }

    /// <summary>Builds the section and adds its headline finding to <paramref name="findings"/>.</summary>
    /// <param name="curve">The path's scores.</param>
    /// <param name="plane">The plane through a third model, if computed.</param>
    /// <param name="id">Section anchor.</param>
    /// <param name="modelA">Label of model A (α = 0).</param>
    /// <param name="modelB">Label of model B (α = 1).</param>
    /// <param name="modelC">Label of the third model of the plane, if any.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the barrier finding.</param>
    public static ReportSection Build(LanguageModelConnectivityCurve curve, LanguageModelLossPlane? plane, string id, string modelA, string modelB,
        string? modelC, string? commandLine, IList<ReportFinding>? findings = null)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var section = new ReportSection(id, $"Linear mode connectivity: {modelA} ↔ {modelB}")
        {
            Description = $"Mean NLL per byte of each text under θ(α) = (1−α)·{modelA} + α·{modelB}. At α = 0 and 1 the scores are the models' own " +
                "(weightspace eval); a bump above the chord between them is a loss barrier (Frankle et al. 2020).",
            CommandLine = commandLine,
        };
        section.Figures.Add(new ReportFigure("loss", "NLL per byte along the path, per text and averaged.", ReportPlots.ToSvg(CurvePlot(curve), 720, 420)));

        var columns = new List<string> { "α" };
        columns.AddRange(curve.Texts.Select(t => $"{Path.GetFileName(t)} NLL/byte"));
        columns.Add("mean NLL/byte");
        var path = new ReportTable("path", "Loss along the path", [.. columns]);
        for (int i = 0; i < curve.Alphas.Length; i++)
            path.AddRow([curve.Alphas[i], .. curve.NllPerByte.Select(l => (object?)l[i]), curve.MeanNllPerByte[i]]);
        section.Tables.Add(path);
        section.Tables.Add(new ReportTable("barrier", "Barrier", "loss barrier (nats/byte)", "barrier at α = 0.5", $"mean at {modelA}", $"mean at {modelB}")
            .AddRow(curve.Barrier, curve.BarrierMidpoint, curve.MeanNllPerByte[0], curve.MeanNllPerByte[^1]));
        section.Notes.Add("bits per byte = NLL per byte / ln 2.");

        if (plane is not null)
        {
            section.Figures.Add(new ReportFigure("plane", $"Mean NLL per byte over the plane through {modelA} (A), {modelB} (B) and {modelC ?? "C"} (C); axes in weight-space L2 units.",
                ReportPlots.ToSvg(ConnectivityPlots.Plane(plane.ToLossPlane()), 720, 520)));
            int best = Array.IndexOf(plane.MeanNllPerByte, plane.MeanNllPerByte.Min());
            section.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"Plane: {plane.X.Length}×{plane.Y.Length} grid, mean NLL/byte {plane.MeanNllPerByte.Min():F4} … {plane.MeanNllPerByte.Max():F4}; lowest at (u, v) = ({plane.X[best % plane.X.Length]:F2}, {plane.Y[best / plane.X.Length]:F2})."));
        }

        findings?.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
            $"Loss barrier between {modelA} and {modelB}: {curve.Barrier:F4} nats/byte ({curve.Barrier / Math.Log(2):F4} bits/byte) above the chord of their mean scores"),
            curve.Barrier <= 0.01 ? FindingLevel.Good : FindingLevel.Info, id));
        return section;
    }
}
