using WeightSpace.Analysis.RankProfile;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace compress MODEL --rank-profile (energy:F|suggested|rank:N|FILE.json) [--roles LIST] [--factors] [--dry-run] [--force] -o OUT</c>.</summary>
internal static class CompressCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "A checkpoint or Hugging Face folder (its config and tokenizer files are copied)." };
        var profile = new Option<string>("--rank-profile") { Description = "energy:F (rank holding F of Σσ²), suggested (power-law tail), rank:N, or a JSON file of tensor → rank.", Required = true };
        var roles = new Option<string?>("--roles") { Description = $"Matrices a rule compresses (default {RankRoles.Projections}); a file names its own." };
        var factors = new Option<bool>("--factors") { Description = "Store each compressed matrix as NAME_u [rows, r] and NAME_v [r, columns] instead of the dense W_r." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the rank each matrix would get and its relative error; write nothing." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };
        var output = new Option<string?>("--output", "-o") { Description = "The output model folder." };
        var command = new Command("compress", """
            Low-rank compression: each chosen matrix becomes its truncated SVD (the best rank-r approximation), written as
            a Hugging Face folder in the input's dtypes (config and tokenizer copied; weightspace eval reads it as is), or
            as factors. See docs/transformer.md for the rules and the measured perplexity change per matrix type.

            Examples:
              weightspace compress data/llm/base-f32 --rank-profile energy:0.95 -o base-e95/
              weightspace compress data/llm/base-f32 --rank-profile suggested --roles gate,up,down -o base-mlp/
              weightspace ranks data/llm/base --json > r.json && weightspace compress data/llm/base --rank-profile r.json --dry-run
            """) { model, profile, roles, factors, dryRun, force, output };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string? outDir = pr.GetValue(output);
            bool dry = pr.GetValue(dryRun);
            if (outDir is null && !dry) throw new UsageException("-o/--output is required (or --dry-run)");
            var selection = RankSelection.Parse(pr.GetValue(profile)!);
            var coverage = new RankProfileOptions { Roles = RankRoles.Parse(pr.GetValue(roles) ?? RankRoles.Projections) };
            string path = pr.GetValue(model)!;
            using var models = OpenedModels.Open([path]);
            var store = models[path];
            IReadOnlyList<CompressedMatrix> results;
            if (dry)
            {
                var targets = selection.ExplicitRanks is { } file
                    ? store.Tensors.Where(t => file.ContainsKey(t.Name)).ToList()
                    : store.Tensors.Where(coverage.Covers).ToList();
                if (selection.ExplicitRanks is { } f2 && f2.Keys.FirstOrDefault(n => !store.Contains(n)) is { } missing)
                    throw new InvalidRankProfileException(selection.Text, $"tensor '{missing}' is not in {path}");
                results = [.. targets.Select(t =>
                {
                    var ranks = RankProfiler.Profile(store, t, coverage);
                    int r = selection.RankOf(ranks);
                    double total = ranks.SingularValues.Sum(s => s * s), tail = ranks.SingularValues.Skip(r).Sum(s => s * s);
                    return new CompressedMatrix(t.Name, r, ranks.FullRank, total > 0 ? Math.Sqrt(tail / total) : 0, r * (t.Shape[0] + t.Shape[1]), t.Shape[0] * t.Shape[1]);
                })];
            }
            else
            {
                using var files = ModelFiles.Of(store, path);
                results = LowRankCompression.Write(store, selection, outDir!, new LowRankCompressionOptions
                {
                    Coverage = coverage, Factors = pr.GetValue(factors), Overwrite = pr.GetValue(force), CopyFilesFrom = files.Folder,
                });
            }
            if (results.Count == 0) throw new WeightSpaceException($"{path}: no matrix matches --roles");
            var table = new Table().Border(TableBorder.Simple);
            table.AddColumn("matrix");
            foreach (string c in (string[])["rank", "full", "‖W−W_r‖/‖W‖", "factor params / dense"]) table.AddColumn(new TableColumn(c).RightAligned());
            foreach (var m in results)
                table.AddRow(Markup.Escape(m.Name), m.Rank.ToString(CultureInfo.InvariantCulture), m.FullRank.ToString(CultureInfo.InvariantCulture),
                    m.RelativeError.ToString("F4", CultureInfo.InvariantCulture), (m.FactorParameters / (double)m.DenseParameters).ToString("F3", CultureInfo.InvariantCulture));
            context.Console.Write(table);
            long factorsTotal = results.Sum(m => m.FactorParameters), dense = results.Sum(m => m.DenseParameters);
            context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{results.Count} matrices, rank profile {selection.Text}: factors would hold {factorsTotal} of their {dense} parameters ({factorsTotal / (double)dense:P1})"));
            if (!dry) context.Console.WriteLine($"wrote {outDir}");
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }
}
