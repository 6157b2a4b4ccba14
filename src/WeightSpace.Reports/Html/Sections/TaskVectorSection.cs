using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Reports.TaskVectors;

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

        section.Figures.Add(new ReportFigure("relative-change", "How much each layer group moved, relative to its base norm, per fine-tune.",
            ReportPlots.ToSvg(TaskVectorPlots.RelativeChange(report))));
        if (names.Length >= 2)
        {
            section.Figures.Add(new ReportFigure("cosine", "Whole-model cosine similarity between the fine-tunes' task vectors (1 = same direction, 0 = orthogonal).",
                ReportPlots.ToSvg(TaskVectorPlots.PairMatrix(report, "Cosine between task vectors (whole model)", report.Whole.Cosine, -1), 520, 420)));
            section.Figures.Add(new ReportFigure("cosine-by-group", "Where the fine-tunes pull the same way: each pair's cosine by layer group.",
                ReportPlots.ToSvg(TaskVectorPlots.CosineByGroup(report))));
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
                double conflict = report.Whole.ConflictShare(0, 1);
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Fine-tunes {names[0]} and {names[1]} conflict in {conflict:P0} of signs where both changed the weights (whole-model cosine {report.Whole.Cosine[0][1]:F2})"),
                    report.Whole.ConflictsHeavily(0, 1) ? FindingLevel.Warning : FindingLevel.Info, id));
            }
        }
        SpectraSection.AddLayerRoleFigures(section, WeightSpace.Reports.Transformer.LayerRolePlots.DiffGrids(report));
        return section;
    }
}
