using WeightSpace.Analysis.Language;

namespace WeightSpace.Reports.Html.Sections;

/// <summary>Report section of language-model scores (<c>weightspace eval</c>): bits per byte and perplexity of each
/// model on each text, drawn and tabled as a <see cref="MergeSection"/> with <see cref="MergeMetric.BitsPerByte"/>.</summary>
public static class LanguageModelScoreSection
{
    /// <summary>Builds the section and adds its findings to <paramref name="findings"/>.</summary>
    /// <param name="models">One label and report per model, every report over the same texts in the same order.</param>
    /// <param name="id">Section anchor.</param>
    /// <param name="title">Section heading.</param>
    /// <param name="description">What the section answers.</param>
    /// <param name="commandLine">The command that reproduces it.</param>
    /// <param name="findings">Receives the best model per text, and the best merge if <paramref name="outputs"/> is set.</param>
    /// <param name="outputs">How many of the last models are outputs (merges) rather than inputs; 0 for a plain comparison.</param>
    /// <exception cref="ArgumentException">The reports cover different texts.</exception>
    public static ReportSection Build(IReadOnlyList<(string Label, LanguageModelReport Report)> models, string id, string title, string description,
        string? commandLine, IList<ReportFinding>? findings = null, int outputs = 0)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(outputs, models.Count);
        if (models.Count == 0) throw new ArgumentException("no models to show", nameof(models));
        var texts = models[0].Report.Texts.Select(t => t.Text).ToArray();
        foreach (var (label, report) in models)
            if (!report.Texts.Select(t => t.Text).SequenceEqual(texts))
                throw new ArgumentException($"model '{label}' was scored on other texts than '{models[0].Label}'", nameof(models));
        string[] names = [.. texts.Select(t => Path.GetFileName(t))];
        var scores = models.Select((m, i) => new MergeScore(m.Label, i >= models.Count - outputs ? "output" : "",
            [.. m.Report.Texts.Select(t => t.BitsPerByte)], IsReference: i < models.Count - outputs)).ToList();
        var section = MergeSection.Build(scores, names, id, title, description, commandLine, outputs > 0 ? findings : null, MergeMetric.BitsPerByte);

        var columns = new List<string> { "model", "text", "tokens", "predictions", "NLL/token", "NLL/byte", "perplexity (per token)", "bits/byte" };
        var detail = new ReportTable("per-text", "Every score", [.. columns]);
        foreach (var (label, report) in models)
            foreach (var s in report.Texts)
                detail.AddRow(label, Path.GetFileName(s.Text), s.Tokens, s.Predictions, s.NllPerToken, s.NllPerByte, s.Perplexity, s.BitsPerByte);
        section.Tables.Add(detail);
        var p = models[0].Report.Protocol;
        section.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"Protocol: windows of {p.Window} tokens, stride {p.Stride ?? p.Window}{(p.MaxWindows is int m ? $", first {m} windows only" : "")}; the first token of each window is context only (docs/evaluation.md). bits/byte = NLL/byte / ln 2."));

        if (findings is not null)
            for (int t = 0; t < texts.Length; t++)
            {
                var best = models.MinBy(m => m.Report.Texts[t].BitsPerByte);
                findings.Add(new ReportFinding(string.Create(CultureInfo.InvariantCulture,
                    $"Best on {names[t]}: {best.Label} at {best.Report.Texts[t].BitsPerByte:F4} bits/byte (perplexity {best.Report.Texts[t].Perplexity:F3})"),
                    FindingLevel.Info, id));
            }
        return section;
    }
}
