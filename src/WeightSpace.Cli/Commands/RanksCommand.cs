using WeightSpace.Analysis.RankProfile;
using WeightSpace.Reports.RankProfile;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace ranks MODEL [--roles LIST] [--include-embeddings] [--json] [--csv F] [--plots DIR]</c>.</summary>
internal static class RanksCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "A checkpoint or Hugging Face folder." };
        var roles = new Option<string?>("--roles") { Description = "Only these roles (comma-separated: q,k,v,o,qkv,gate,up,gate_up,down,lm_head,embed); default every 2-D matrix but embeddings." };
        var embeddings = new Option<bool>("--include-embeddings") { Description = "Also profile the token and position embeddings." };
        var json = CommonOptions.Json("Write one JSON document (with suggested_ranks, a file compress --rank-profile reads).");
        var csv = CommonOptions.Csv("matrix");
        var plots = new Option<string?>("--plots") { Description = "Write rank-fraction-by-depth figures (SVG and PNG) into DIR." };
        var command = new Command("ranks", """
            Rank profile of every matrix: the rank holding 90/95/99 % of the spectral energy Σσ², the numerical rank
            (numpy's matrix_rank rule) and a suggested rank from the heavy-tailed spectrum (the eigenvalues σ² in the
            power-law tail of WeightWatcher's fit; docs/transformer.md). The profile compress --rank-profile uses.

            Examples:
              weightspace ranks data/llm/base
              weightspace ranks data/llm/base --roles q,k,v,o --json > ranks.json
            """) { model, roles, embeddings, json, csv, plots };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? csvPath = pr.GetValue(csv), plotDir = pr.GetValue(plots);
            if (csvPath is not null && Path.GetDirectoryName(Path.GetFullPath(csvPath)) is { } csvDir && !Directory.Exists(csvDir))
                throw new DirectoryNotFoundException($"--csv {csvPath}: folder {csvDir} does not exist");
            var options = new RankProfileOptions { Roles = RankRoles.Parse(pr.GetValue(roles)), IncludeEmbeddings = pr.GetValue(embeddings) };
            string path = pr.GetValue(model)!;
            using var models = OpenedModels.Open([path]);
            var profile = RankProfiler.Profile(models[path], options);
            if (profile.Count == 0) throw new WeightSpaceException($"{path}: no matrix matches --roles");
            if (csvPath is not null) AtomicFile.Write(csvPath, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                RankProfileReport.WriteCsv(writer, profile);
            });
            var figures = plotDir is null ? [] : RankProfileReport.WritePlots(profile, plotDir);
            if (pr.GetValue(json)) { JsonStdout.WriteObject(context, w => RankProfileReport.WriteJson(w, path, profile)); return WeightSpaceCommandLine.Ok; }
            WriteTable(context, profile);
            if (csvPath is not null) context.Console.WriteLine($"wrote {csvPath}");
            if (figures.Count > 0) context.Console.WriteLine($"wrote {figures.Count} figures (SVG and PNG) into {plotDir}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    internal static void WriteTable(CliContext context, IReadOnlyList<MatrixRanks> profile)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("matrix");
        foreach (string c in (string[])["shape", "full", "numerical", "90 %", "95 %", "99 %", "suggested", "α"]) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var m in profile)
        {
            string I(int v) => v.ToString(CultureInfo.InvariantCulture);
            table.AddRow(Markup.Escape(m.Name), string.Create(CultureInfo.InvariantCulture, $"{m.Rows}×{m.Columns}"), I(m.FullRank), I(m.NumericalRank),
                I(m.RankAtEnergy(0.90)), I(m.RankAtEnergy(0.95)), I(m.RankAtEnergy(0.99)), I(m.SuggestedRank),
                m.TailFit is { } f ? f.Alpha.ToString("F2", CultureInfo.InvariantCulture) : "–");
        }
        context.Console.Write(table);
    }
}
