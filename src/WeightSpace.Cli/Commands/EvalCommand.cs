using System.Text.Json;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace eval MODEL… --text FILE… [--window N] [--stride N] [--batch N] [--max-windows N] [--onnx M.onnx] [--float64] [--json]</c>.</summary>
internal static class EvalCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string[]>("models") { Description = "Hugging Face model folders (config.json, tokenizer.json, weights), weights files in one, or llama GGUF files (config and tokenizer from their metadata, quantised weights dequantised). Several: one table of bits/byte per model and text.", Arity = ArgumentArity.OneOrMore };
        var text = new Option<string[]>("--text", "-t") { Description = "UTF-8 text files to score.", Required = true, AllowMultipleArgumentsPerToken = true };
        var window = new Option<int>("--window") { Description = "Tokens per window (≤ max_position_embeddings).", DefaultValueFactory = _ => 128 };
        var stride = new Option<int?>("--stride") { Description = "Tokens between window starts; default = --window (independent windows). Smaller: sliding windows, each scoring only the tokens it adds." };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass.", DefaultValueFactory = _ => 64 };
        var maxWindows = new Option<int?>("--max-windows") { Description = "Score only the first N windows of each text (quick checks)." };
        var onnx = new Option<string?>("--onnx") { Description = "Run this ONNX export through ONNX Runtime with the model's weights as its initializers, instead of the TorchSharp forward pass." };
        var float64 = new Option<bool>("--float64") { Description = "Compute the TorchSharp forward pass in float64 (default float32, as PyTorch)." };
        var threads = new Option<int?>("--threads") { Description = "Torch (or ONNX Runtime) threads; default: the library's." };
        var json = new Option<bool>("--json") { Description = "Print the scores as JSON." };
        var adapter = new Option<string?>("--adapter") { Description = "A PEFT adapter folder: score MODEL with the adapter merged in on read (W + s·B·A in float32, nothing written)." };
        var command = new Command("eval", """
            Perplexity of a causal language model (Llama, Mistral, Qwen2, Gemma) on text files: mean NLL per token and
            per byte, perplexity and bits per byte. Default protocol (docs/evaluation.md): independent windows of 128
            tokens, the first token of each window is context only, so positions 1…127 are scored.

            Examples:
              weightspace eval models/tiny-llama --text eval/prose.txt eval/python.txt
              weightspace eval ft-python/ --text python.txt --window 512 --stride 256 --json
              weightspace eval ft-python/ --text python.txt --onnx base.onnx
              weightspace eval base/ --adapter lora-python/ --text python.txt     (what the adapter does, without merging it)
              weightspace eval base/ ft-prose/ ft-python/ model-q4_k_m.gguf --text prose.txt python.txt   (one table)
            """) { model, text, window, stride, batch, maxWindows, onnx, float64, threads, json, adapter };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            int w = pr.GetValue(window);
            if (w < 2) throw new UsageException($"--window {w} must be at least 2 (one token of context, one predicted)");
            int? s = pr.GetValue(stride);
            if (s is int sv && (sv < 1 || sv > w)) throw new UsageException($"--stride {sv} must be between 1 and --window {w}");
            int b = pr.GetValue(batch);
            if (b < 1) throw new UsageException($"--batch {b} must be at least 1");
            int? m = pr.GetValue(maxWindows);
            if (m is < 1) throw new UsageException($"--max-windows {m} must be at least 1");
            int? t = pr.GetValue(threads);
            if (t is < 1) throw new UsageException($"--threads {t} must be at least 1");
            var options = new LanguageModelEvaluationOptions
            {
                Protocol = new PerplexityOptions { Window = w, Stride = s, BatchSize = b, MaxWindows = m },
                OnnxModelPath = pr.GetValue(onnx),
                Model = new LanguageModelOptions { Float64 = pr.GetValue(float64), TorchThreads = t },
                AdapterPath = pr.GetValue(adapter),
            };
            string[] modelPaths = pr.GetValue(model)!;
            string[] texts = pr.GetValue(text)!;
            if (modelPaths.Length > 1 && options.AdapterPath is not null)
                throw new UsageException("--adapter applies to one model: give one MODEL (or score MODEL and MODEL --adapter A as two runs)");
            // Texts are checked before the first model loads, so a typo in the last one costs no work.
            RequireTexts("--text", texts);
            var reports = new List<LanguageModelReport>(modelPaths.Length);
            foreach (string modelPath in modelPaths)
            {
                if (modelPaths.Length > 1) context.Error.WriteLine($"[{reports.Count + 1}/{modelPaths.Length}] {modelPath}");
                reports.Add(WithProgress(context, p => LanguageModelEvaluation.Evaluate(modelPath, texts, options, p)));
            }
            if (pr.GetValue(json))
            {
                if (reports.Count == 1) JsonStdout.WriteObject(context, w => WriteReport(w, reports[0]));
                else JsonStdout.WriteObject(context, w => w.WriteObjectArray("models", reports, WriteReport));
            }
            else if (reports.Count == 1) WriteTable(context.Console, reports[0]);
            else WriteComparison(context.Console, reports, texts);
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    /// <summary><c>merge|taskvec … --eval FILE…</c>: bits per byte of each model (inputs, then the output) on each text,
    /// one table; the last model is labelled <paramref name="outputLabel"/>. Returns the reports in model order.</summary>
    internal static IReadOnlyList<LanguageModelReport> CompareModels(CliContext context, IReadOnlyList<string> models, string[] texts, string outputLabel = "merged") =>
        CompareModels(context, [.. models.Select(m => (m, (string?)null))], texts, outputLabel, [.. models]);

    /// <summary>As above, for models given as (model path, PEFT adapter or null), shown as <paramref name="labels"/>.</summary>
    internal static IReadOnlyList<LanguageModelReport> CompareModels(CliContext context, IReadOnlyList<(string Model, string? Adapter)> models, string[] texts,
        string outputLabel = "merged", IReadOnlyList<string>? labels = null)
    {
        var reports = new List<LanguageModelReport>();
        foreach (var (model, adapter) in models)
        {
            var options = adapter is null ? null : new LanguageModelEvaluationOptions { AdapterPath = adapter };
            reports.Add(WithProgress(context, p => LanguageModelEvaluation.Evaluate(model, texts, options, p)));
        }
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("model");
        foreach (string t in texts) table.AddColumn(new TableColumn(Markup.Escape(Path.GetFileName(t)) + " bits/byte").RightAligned());
        for (int m = 0; m < models.Count; m++)
        {
            string label = labels?[m] ?? reports[m].Model;
            table.AddRow([Markup.Escape(m == models.Count - 1 ? $"{label} ({outputLabel})" : label), .. reports[m].Texts.Select(s => F(s.BitsPerByte))]);
        }
        context.Console.Write(table);
        return reports;
    }

    /// <summary>The <c>--eval</c> texts exist: checked before a merge writes anything, so a typo costs no work.</summary>
    internal static void RequireTexts(string option, IEnumerable<string> texts)
    {
        foreach (string t in texts)
            if (!File.Exists(t)) throw new FileNotFoundException($"{option} {t}: text file not found", t);
    }

    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Runs one evaluation with a bar per text on a terminal.</summary>
    internal static LanguageModelReport WithProgress(CliContext context, Func<IProgress<LanguageModelProgress>?, LanguageModelReport> work)
    {
        if (!context.ErrorIsTerminal) return work(null);
        LanguageModelReport result = null!;
        context.ErrorConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                string? current = null;
                result = work(new Reporter<LanguageModelProgress>(p =>
                {
                    if (p.Text != current)
                    {
                        if (task is not null) task.Value = task.MaxValue;
                        task = ctx.AddTask(Markup.Escape(Path.GetFileName(p.Text)), maxValue: Math.Max(1, p.WindowCount));
                        current = p.Text;
                    }
                    task!.Value = p.WindowsDone;
                }));
                if (task is not null) task.Value = task.MaxValue;
            });
        return result;
    }

    private static void WriteReport(Utf8JsonWriter writer, LanguageModelReport report)
    {
        writer.WriteString("model", report.Model);
        writer.WriteString("backend", report.Backend);
        writer.WriteString("tokenizer", report.Tokenizer.ToString());
        writer.WriteStartObject("protocol");
        writer.WriteNumber("window", report.Protocol.Window);
        writer.WriteNumber("stride", report.Protocol.Stride ?? report.Protocol.Window);
        if (report.Protocol.MaxWindows is int max) writer.WriteNumber("max_windows", max);
        writer.WriteEndObject();
        writer.WriteObjectArray("texts", report.Texts, static (writer, s) =>
        {
            writer.WriteString("text", s.Text);
            writer.WriteNumber("bytes", s.Bytes);
            writer.WriteNumber("tokens", s.Tokens);
            writer.WriteNumber("windows", s.Windows);
            writer.WriteNumber("predictions", s.Predictions);
            writer.WriteNumber("scored_bytes", s.ScoredBytes);
            writer.WriteNumber("nll_sum", s.NllSum);
            writer.WriteNumber("nll_per_token", s.NllPerToken);
            writer.WriteNumber("nll_per_byte", s.NllPerByte);
            writer.WriteNumber("perplexity", s.Perplexity);
            writer.WriteNumber("bits_per_byte", s.BitsPerByte);
            writer.WriteNumber("tokens_per_second", Math.Round(s.TokensPerSecond, 1));
        });
    }

    // Several models: bits/byte per model (rows) and text (columns), the best of each text marked, then the protocol.
    private static void WriteComparison(IAnsiConsole console, IReadOnlyList<LanguageModelReport> reports, string[] texts)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("model");
        foreach (string t in texts) table.AddColumn(new TableColumn(Markup.Escape(Path.GetFileName(t)) + " bits/byte").RightAligned());
        var best = Enumerable.Range(0, texts.Length).Select(t => reports.Select(r => r.Texts[t].BitsPerByte).Min()).ToArray();
        foreach (var r in reports)
            table.AddRow([Markup.Escape(r.Model), .. r.Texts.Select((s, t) => s.BitsPerByte == best[t] ? $"[bold]{F(s.BitsPerByte)}[/] *" : F(s.BitsPerByte))]);
        console.Write(table);
        var p = reports[0].Protocol;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"* best on that text; windows of {p.Window} tokens, stride {p.Stride ?? p.Window}{(p.MaxWindows is int m ? $", first {m} windows only" : "")}; --json for every score"));
    }

    private static void WriteTable(IAnsiConsole console, LanguageModelReport report)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (string c in new[] { "text", "tokens", "scored", "NLL/token", "NLL/byte", "perplexity", "bits/byte", "tokens/s" })
            table.AddColumn(c == "text" ? new TableColumn(c) : new TableColumn(c).RightAligned());
        foreach (var s in report.Texts)
            table.AddRow(Markup.Escape(s.Text), I(s.Tokens), I(s.Predictions), F(s.NllPerToken), F(s.NllPerByte), F(s.Perplexity), F(s.BitsPerByte), s.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture));
        console.Write(table);
        var p = report.Protocol;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.Model} via {report.Backend}, {report.Tokenizer} tokenizer; windows of {p.Window} tokens, stride {p.Stride ?? p.Window}{(p.MaxWindows is int m ? $", first {m} windows only" : "")}"));
    }

    private static string F(double v) => v.ToString("F6", CultureInfo.InvariantCulture);
    private static string I(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
}
