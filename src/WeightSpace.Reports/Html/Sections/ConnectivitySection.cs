using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Reports.Connectivity;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section for Git Re-Basin alignment and linear mode connectivity: loss and accuracy along the
/// straight line between two models, before and after aligning one to the other.</summary>
public static class ConnectivitySection
{
    /// <summary>Builds the section and adds its headline findings to <paramref name="findings"/>.</summary>
    /// <param name="curves">Labelled curves, e.g. ("naive", …), ("weight matching", …).</param>
    /// <param name="alignment">The alignment that produced the aligned curve, if any.</param>
    /// <param name="id">Section anchor.</param>
    /// <param name="title">Section heading.</param>
    /// <param name="description">What the section answers.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the headline finding (first curve vs the best of the others).</param>
    public static ReportSection Build(IReadOnlyList<(string Label, ConnectivityCurve Curve)> curves, AlignmentResult? alignment,
        string id, string title, string description, string? commandLine, IList<ReportFinding>? findings = null)
    {
        var section = new ReportSection(id, title) { Description = description, CommandLine = commandLine };
        if (curves.Count > 0)
        {
            section.Figures.Add(new ReportFigure("loss", "Test loss of the interpolated networks; a bump above the straight line between the endpoints is a barrier.",
                ReportPlots.ToSvg(ConnectivityPlots.Metric(curves, accuracy: false))));
            section.Figures.Add(new ReportFigure("accuracy", "Test accuracy of the interpolated networks; a dip below the straight line between the endpoints is a barrier.",
                ReportPlots.ToSvg(ConnectivityPlots.Metric(curves, accuracy: true))));
        }
        if (curves.Count > 0) section.Tables.Add(BarrierTable(curves));
        if (alignment is not null && alignment.Groups.Count > 0)
            section.Figures.Add(new ReportFigure("distance", "Distance between the two models' weights in each permutation group, before and after permuting B.",
                ReportPlots.ToSvg(ConnectivityPlots.GroupDistances(alignment))));
        if (alignment is not null)
        {
            var groups = new ReportTable("groups", "Permutation groups (weight matching)", "group", "size", "objective before", "objective after", "distance before", "distance after", "units kept in place");
            foreach (var g in alignment.Groups)
                groups.AddRow(g.Group, (long)g.Size, g.ObjectiveBefore, g.ObjectiveAfter, g.DistanceBefore, g.DistanceAfter, (long)g.FixedPoints);
            section.Tables.Add(groups);
            section.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"Weight-space distance ‖θ_A − θ_B‖ = {alignment.DistanceBefore:F3} before alignment, {alignment.DistanceAfter:F3} after ({alignment.Iterations} sweeps of {alignment.Method.Replace('_', ' ')})."));
        }
        if (findings is not null && curves.Count >= 2)
        {
            var naive = curves[0].Curve;
            var best = curves.Skip(1).MinBy(c => c.Curve.BarrierLoss);
            findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                $"Loss barrier between the two seeds: {naive.BarrierLoss:F3} → {best.Curve.BarrierLoss:F3} after {best.Label} (accuracy barrier {naive.BarrierAccuracy:P1} → {best.Curve.BarrierAccuracy:P1})"),
                best.Curve.BarrierLoss < naive.BarrierLoss ? FindingLevel.Good : FindingLevel.Warning, id));
        }
        return section;
    }

    private static ReportTable BarrierTable(IReadOnlyList<(string Label, ConnectivityCurve Curve)> curves)
    {
        var table = new ReportTable("barriers", "Barriers", "curve", "loss barrier", "loss barrier at α=0.5", "accuracy barrier", "accuracy barrier at α=0.5", "loss at A", "loss at B");
        foreach (var (label, c) in curves)
            table.AddRow(label, c.BarrierLoss, c.BarrierLossMidpoint, c.BarrierAccuracy, c.BarrierAccuracyMidpoint, c.Loss[0], c.Loss[^1]);
        return table;
    }
}
