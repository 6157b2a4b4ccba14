using WeightSpace.Analysis.Statistics;
using WeightSpace.Analysis.RankProfile;
using WeightSpace.Analysis.Compatibility;
using WeightSpace.Analysis.Similarity;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace report MODEL… [--base BASE] -o FILE.html</c>: one HTML report over several checkpoints.</summary>
internal static class ReportCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Argument<string[]>("models") { Description = "Checkpoints to analyse (any supported format).", Arity = ArgumentArity.OneOrMore };
        var baseModel = new Option<string?>("--base") { Description = "A base checkpoint: adds the task vectors of every model against it." };
        var output = CommonOptions.Output("The .html file to write (its .json and .csv files go beside it).");
        var text = new Option<string[]>("--text") { Description = "Language models (Hugging Face folders): also score every model on these UTF-8 texts (weightspace eval's default protocol).", AllowMultipleArgumentsPerToken = true };
        var command = new Command("report", """
            Write one self-contained HTML report over checkpoints: what they hold, the spectra of each, with --base the
            task vectors of each against the base, and with --text each language model's perplexity on each text. Transformers
            also get attention heads, rank profile, MLP neurons as tokens, outlier weights (with --text the super weight
            found on the first text and what zeroing it does to every text) and layer similarity (hidden states on the
            first --text, else weight-only). The same data is written as JSON and CSV next to the page.

            Examples:
              weightspace report model.safetensors -o report.html
              weightspace report ft_a.safetensors ft_b.safetensors --base base.safetensors -o finetunes.html
              weightspace report ft-prose/ ft-python/ --base base/ --text prose.txt python.txt -o llm.html
            """) { models, baseModel, output, text };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string path = pr.GetValue(output)!;
            ReportOutput.Validate(path);
            string[] paths = pr.GetValue(models)!;
            string? basePath = pr.GetValue(baseModel);
            string[] texts = pr.GetValue(text) ?? [];
            EvalCommand.RequireTexts("--text", texts);
            // A PEFT adapter folder among the models is the base (--base) with the adapter merged in on read.
            using var opened = OpenedModels.Open(paths.Select((p, i) => ($"model{i}", p)).Concat(basePath is null ? [] : [("base", basePath)]), "base", "--base");
            var stores = paths.Select((_, i) => opened[$"model{i}"]).ToList();
            bool[] isAdapter = [.. paths.Select(AdaptedTensorStore.IsAdapterFolder)];
            {
                var baseline = basePath is null ? null : opened["base"];
                if (baseline is not null) ModelCompatibility.Require(baseline, stores);   // mismatches listed before any work
                var findings = new List<ReportFinding>();
                var sections = new List<ReportSection>();
                var summaries = stores.Select(s => CheckpointSummary.Create(s, new CheckpointSummaryOptions { WithStatistics = true })).ToList();
                if (baseline is not null) summaries.Insert(0, CheckpointSummary.Create(baseline, new CheckpointSummaryOptions { WithStatistics = true }));
                sections.Add(InspectSection.Build(summaries, "weightspace inspect MODEL --stats"));
                for (int i = 0; i < stores.Count; i++)
                {
                    context.Error.WriteLine($"[{i + 1}/{stores.Count}] spectra of {stores[i].Path}");
                    var spectrum = SpectrumAnalyzer.Analyze(stores[i]);
                    sections.Add(SpectraSection.Build(spectrum, $"spectra-{i + 1}", $"Spectra: {Path.GetFileName(stores[i].Path)}",
                        $"weightspace spectrum {stores[i].Path}", findings));
                }
                if (baseline is not null)
                {
                    var delta = TaskVectorAnalysis.Analyze(baseline, stores);
                    sections.Add(TaskVectorSection.Build(delta, "task-vectors", "Task vectors against the base",
                        $"weightspace diff {baseline.Path} {string.Join(' ', paths)}", findings));
                }
                // Transformer view (issue 13) where the names show attention blocks: heads (with head counts), rank profile,
                // neurons as tokens (with an unembedding), data-free outliers, and layer similarity (hidden states with --text).
                for (int i = 0; i < stores.Count; i++)
                {
                    if (!TransformerView.HasAttention(stores[i])) continue;
                    string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(stores[i].Path));
                    var heads = TransformerView.TryHeads(stores[i], baseline);
                    if (heads is not null)
                        sections.Add(TransformerSections.Heads(heads, $"heads-{i + 1}", $"Attention heads: {Path.GetFileName(stores[i].Path)}",
                            $"weightspace heads {stores[i].Path}" + (baseline is null ? "" : $" --against {baseline.Path}")));
                    sections.Add(TransformerSections.Ranks(RankProfiler.Profile(stores[i]), $"ranks-{i + 1}", $"Rank profile: {Path.GetFileName(stores[i].Path)}",
                        $"weightspace ranks {stores[i].Path}"));
                    if (TransformerView.CanDecodeNeurons(stores[i], baseline))
                        sections.Add(NeuronsSection.Build(NeuronDecoder.Decode(stores[i], baseline), TokenVocabulary.TryLoadBeside(stores[i].Path) ?? (baseline is null ? null : TokenVocabulary.TryLoadBeside(baseline.Path)),
                            $"weightspace neurons {stores[i].Path}" + (baseline is null ? "" : $" --against {baseline.Path}"), findings, id: $"neurons-{i + 1}", title: $"MLP neurons as tokens: {name}"));
                    var outliers = OutlierScan.Scan(stores[i]);
                    var top = outliers.SelectMany(m => m.Outliers).OrderByDescending(o => o.RatioToRms).ThenBy(o => o.Tensor, StringComparer.Ordinal).Take(20).ToList();
                    string? probe = texts.Length > 0 ? texts[0] : null;
                    // With texts, the activation-based super weight (Yu et al. 2024) and the effect of zeroing it, as `outliers --text`.
                    SuperWeightReport? super = null;
                    if (probe is not null)
                    {
                        context.Error.WriteLine($"[{i + 1}/{stores.Count}] super weight of {paths[i]} on {probe}, and zeroing it on {texts.Length} text(s)");
                        super = isAdapter[i] ? SuperWeights.Detect(basePath!, paths[i], texts, top.FirstOrDefault()) : SuperWeights.Detect(paths[i], texts, top.FirstOrDefault());
                    }
                    sections.Add(OutliersSection.Build(outliers, top, super,
                        $"weightspace outliers {stores[i].Path}" + (probe is null ? "" : $" --text {string.Join(' ', texts)}"), findings, $"outliers-{i + 1}", $"Outlier weights: {name}"));
                    context.Error.WriteLine($"[{i + 1}/{stores.Count}] layer similarity of {stores[i].Path}" + (probe is null ? " (weight-only)" : $" on {probe}"));
                    var similarity = LayerSimilarity.Analyze(paths[i], basePath, probe);
                    sections.Add(TransformerSections.Similarity(similarity, $"similarity-{i + 1}", $"Layer similarity: {name}",
                        $"weightspace similarity {paths[i]}" + (basePath is null ? "" : $" --against {basePath}") + (probe is null ? "" : $" --text {probe}")));
                }
                if (texts.Length > 0)
                {
                    string[] scored = basePath is null ? paths : [basePath, .. paths];
                    var reports = scored.Select((m, i) =>
                    {
                        context.Error.WriteLine($"[{i + 1}/{scored.Length}] scoring {m} on {texts.Length} text(s)");
                        // An adapter is scored as eval BASE --adapter ADAPTER.
                        var options = AdaptedTensorStore.IsAdapterFolder(m) ? new LanguageModelEvaluationOptions { AdapterPath = m } : null;
                        return (Path.GetFileName(Path.TrimEndingDirectorySeparator(m)), EvalCommand.WithProgress(context, p => LanguageModelEvaluation.Evaluate(options is null ? m : basePath!, texts, options, p)));
                    }).ToList();
                    sections.Add(LanguageModelScoreSection.Build(reports, "perplexity", "Perplexity on the texts",
                        "Each model's mean NLL, perplexity and bits per byte on each text (weightspace eval; lower is better).",
                        $"weightspace eval MODEL --text {string.Join(' ', texts)}", findings));
                }
                ReportOutput.Write(context, path, "WeightSpace report", string.Join(", ", paths.Select(Path.GetFileName)), sections, findings);
                context.Out.WriteLine($"report: {Path.GetFullPath(path)}");
                return WeightSpaceCommandLine.Ok;
            }
        }));
        return command;
    }
}
