using System.Text.RegularExpressions;
using WeightSpace.Analysis.Statistics;
using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Integrity;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace inspect PATH [--stats] [--verify] [--metadata] [--names hf|gguf] [--json] [--filter REGEX]</c>.</summary>
internal static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A checkpoint: .safetensors (or a folder/index of shards), a torch.save file, .gguf, or .onnx." };
        var metadata = new Option<bool>("--metadata") { Description = "Also print the file's metadata as a key/type/value table (GGUF: every key with its type; arrays abbreviated)." };
        var names = new Option<string?>("--names") { Description = "GGUF tensor names: hf (default; Hugging Face names and rows for llama-family files, q/k un-permuted) or gguf (as stored)." };
        var stats = new Option<bool>("--stats") { Description = "Read every tensor and add sum, mean, std, min, max, L2 norm, NaN and Inf counts (float64)." };
        var json = CommonOptions.Json();
        var filter = new Option<string?>("--filter") { Description = "Only tensors whose name matches this regular expression." };
        var verify = new Option<bool>("--verify") { Description = "Also check the checksums the format carries (the CRC-32 of every record of a torch.save zip); exit 1 if any fails. Safetensors and ONNX carry none." };
        var command = new Command("inspect", """
            List a checkpoint's tensors (name, dtype, shape, parameters) with totals.

            Examples:
              weightspace inspect model.safetensors
              weightspace inspect pytorch_model.bin --stats --filter 'attn'
              weightspace inspect model.onnx --json > tensors.json
              weightspace inspect pytorch_model.bin --verify
              weightspace inspect model-Q4_K_M.gguf --metadata --names gguf
            """) { path, stats, verify, metadata, names, json, filter };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            var regex = ParseFilter(pr.GetValue(filter));
            if (pr.GetValue(metadata) && pr.GetValue(json)) throw new UsageException("--metadata prints a table; it cannot be combined with --json");
            using var store = Checkpoint.Open(pr.GetValue(path)!, OpenOptions(pr.GetValue(names)));
            var summary = Summarise(context, store, pr.GetValue(stats), regex);
            var integrity = pr.GetValue(verify) ? CheckpointIntegrity.Verify(pr.GetValue(path)!) : null;
            if (pr.GetValue(json))
            {
                JsonStdout.Write(context, stdout => CheckpointSummaryJson.Write(stdout, summary, integrity));
            }
            else
            {
                if (pr.GetValue(metadata)) WriteMetadata(context.Console, store);
                WriteTable(context.Console, summary);
                if (integrity is { HasChecksums: false }) context.Console.WriteLine($"checksums: none in this format ({integrity.Format}); nothing to verify");
                else if (integrity is { Ok: true }) context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"checksums: {integrity.Checked} records, {integrity.Bytes / 1e6:F1} MB, all CRC-32 match"));
            }
            if (integrity is { Ok: false })
                throw new InvalidCheckpointException(integrity.Path, null, $"{integrity.Mismatches.Count} of {integrity.Checked} records fail their CRC-32: " +
                    string.Join(", ", integrity.Mismatches.Take(10).Select(m => $"'{m.Entry}' (stored {m.Expected:x8}, computed {m.Actual:x8})")) +
                    (integrity.Mismatches.Count > 10 ? ", …" : ""));
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary>Open options for <c>--names hf|gguf</c> (null: the defaults, Hugging Face names where known).</summary>
    internal static CheckpointOptions OpenOptions(string? names) => names?.Trim().ToLowerInvariant() switch
    {
        null or "hf" => CheckpointOptions.Default,
        "gguf" => CheckpointOptions.Default with { Gguf = CheckpointOptions.Default.Gguf with { Naming = GgufNaming.Gguf } },
        _ => throw new UsageException($"--names '{names}' is not one of hf, gguf"),
    };

    private static void WriteMetadata(IAnsiConsole console, TensorStore store)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("key");
        table.AddColumn("type");
        table.AddColumn("value");
        if (store is GgufStore gguf)
        {
            foreach (var (key, value) in gguf.KeyValues)
            {
                string type = value.ElementType is { } e ? $"{GgufValue.TypeName(value.Type)}[{GgufValue.TypeName(e)}]" : GgufValue.TypeName(value.Type);
                table.AddRow(Markup.Escape(key), Markup.Escape(type), Markup.Escape(Abbreviate(value.ToString(8))));
            }
        }
        else
        {
            foreach (var (key, value) in store.Metadata) table.AddRow(Markup.Escape(key), "string", Markup.Escape(Abbreviate(value)));
        }
        console.Write(table);
        if (store is GgufStore g)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GGUF v{g.Version}, {g.KeyValues.Count} keys, alignment {g.Alignment}, data at byte {g.DataStart}, {(g.UsesHuggingFaceNames ? "Hugging Face names" : "GGUF names")}{(g.SplitPaths.Count > 1 ? $", split set of {g.SplitPaths.Count} parts" : "")}"));
    }

    private static string Abbreviate(string text) => text.Length <= 120 ? text : text[..117] + "...";

    internal static Regex? ParseFilter(string? pattern) => string.IsNullOrEmpty(pattern) ? null : CliValues.ParseRegex("--filter", pattern);

    internal static CheckpointSummary Summarise(CliContext context, TensorStore store, bool withStats, Regex? filter)
    {
        var options = new CheckpointSummaryOptions { WithStatistics = withStats, Filter = filter };
        if (!withStats) return CheckpointSummary.Create(store, options);
        long total = store.Tensors.Where(t => filter?.IsMatch(t.Name) ?? true).Sum(t => t.ByteCount);
        return ProgressBars.Run<long, CheckpointSummary>(context, "scanning", total,
            progress => CheckpointSummary.Create(store, options, progress), bytesDone => bytesDone, bytes: true);
    }

    private static void WriteTable(IAnsiConsole console, CheckpointSummary summary)
    {
        bool withStats = summary.Tensors.Any(t => t.Statistics is not null);
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("name");
        table.AddColumn("dtype");
        table.AddColumn("shape");
        table.AddColumn(new TableColumn("parameters").RightAligned());
        table.AddColumn(new TableColumn("bytes").RightAligned());
        table.AddColumn(new TableColumn("bits/w").RightAligned());
        if (withStats)
            foreach (string c in new[] { "sum", "mean", "std", "min", "max", "l2", "nan", "inf" })
                table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var t in summary.Tensors)
        {
            var row = new List<string>
            {
                Markup.Escape(t.Info.Name), t.Info.DType.ToSafetensorsName(), Markup.Escape(t.Info.Shape.ToString()),
                t.Info.ElementCount.ToString("N0", CultureInfo.InvariantCulture),
                t.Info.ByteCount.ToString("N0", CultureInfo.InvariantCulture),
                t.Info.DType.BitsPerWeight().ToString("0.####", CultureInfo.InvariantCulture),
            };
            if (t.Statistics is { } s)
                row.AddRange([G(s.Sum), G(s.Mean), G(s.Std), G(s.Min), G(s.Max), G(s.L2), s.NaNCount.ToString(CultureInfo.InvariantCulture), s.InfinityCount.ToString(CultureInfo.InvariantCulture)]);
            else if (withStats)
                row.AddRange(Enumerable.Repeat("", 8));
            table.AddRow(row.ToArray());
        }
        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{summary.Path}: {summary.Format.Name}, {summary.Tensors.Count} tensors, {summary.ParameterCount:N0} parameters, {FormatBytes(summary.ByteCount)}{BitsPerWeight(summary)}"));
    }

    // Mean stored bits per parameter, shown when it is not a plain element size (quantised GGUF files).
    private static string BitsPerWeight(CheckpointSummary summary) =>
        summary.ParameterCount > 0 && summary.Tensors.Any(t => t.Info.DType.IsBlockQuantized())
            ? string.Create(CultureInfo.InvariantCulture, $", {8.0 * summary.ByteCount / summary.ParameterCount:F3} bits per weight")
            : "";

    private static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    internal static string FormatBytes(long bytes) => CliValues.FormatBytes(bytes);
}
