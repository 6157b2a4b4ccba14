using WeightSpace.Analysis.Statistics;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section listing checkpoints: format, tensors, parameters, bytes and weight statistics.</summary>
public static class InspectSection
{
    /// <summary>Builds the section from one summary per checkpoint (statistics optional).</summary>
    public static ReportSection Build(IReadOnlyList<CheckpointSummary> models, string? commandLine = null, string id = "inspect")
    {
        var section = new ReportSection(id, "Checkpoints")
        {
            Description = "What each checkpoint holds, read lazily one tensor at a time, whatever its format.",
            CommandLine = commandLine,
        };
        var table = new ReportTable("models", "Models", "model", "format", "tensors", "parameters", "bytes", "largest tensor", "max |w| (float tensors)", "non-finite");
        foreach (var m in models)
        {
            var largest = m.Tensors.MaxBy(t => t.Info.ElementCount);
            // Weights only: integer constants (ONNX shape and index tensors) say nothing about the learned values.
            var weights = m.Tensors.Where(t => t.Statistics is not null && t.Info.DType.IsFloatingPoint() && t.Info.ElementCount > 0).ToList();
            double? maxAbs = weights.Count > 0 ? weights.Max(t => Math.Max(Math.Abs(t.Statistics!.Min), Math.Abs(t.Statistics.Max))) : null;
            long nonFinite = m.Tensors.Sum(t => (t.Statistics?.NaNCount ?? 0) + (t.Statistics?.InfinityCount ?? 0));
            table.AddRow(Path.GetFileName(Path.TrimEndingDirectorySeparator(m.Path)), m.Format.Name,
                (long)m.Tensors.Count, m.ParameterCount, m.ByteCount,
                largest is null ? null : $"{largest.Info.Name} {largest.Info.Shape}", maxAbs, nonFinite);
        }
        section.Tables.Add(table);
        return section;
    }
}
