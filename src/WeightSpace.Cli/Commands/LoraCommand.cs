using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using WeightSpace.Analysis.Lora;
using WeightSpace.Analysis.Merging.Output;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace lora apply|extract|combine|analyze</c>: PEFT LoRA adapters applied, extracted, combined and analysed.</summary>
internal static class LoraCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("lora", """
            PEFT LoRA adapters (adapter_config.json + adapter_model.safetensors or .bin): merge them into a base
            (PEFT's merge_and_unload), extract one from a fine-tune (truncated SVD of ΔW), combine several in ΔW space,
            analyse what one changes. An adapter that does not fit its base is refused before any work.

            Examples:
              weightspace lora apply base/ lora-python/ -o merged/
              weightspace lora apply base/ a/ b/ --scale 0.7 0.3 --dtype bf16 -o merged/
              weightspace lora extract base/ ft-python/ --rank 16 -o adapter/
              weightspace lora combine a/ b/ --weights 0.5 0.5 --rank 16 -o ab/
              weightspace lora analyze base/ lora-python/ --json
            """);
        command.Subcommands.Add(Apply(context));
        return command;
    }

    private static Command Apply(CliContext context)
    {
        var baseArg = new Argument<string>("base") { Description = "The base model (folder or file) the adapters were trained on." };
        var adapters = new Argument<string[]>("adapters") { Description = "PEFT adapter folders.", Arity = ArgumentArity.OneOrMore };
        var scale = new Option<double[]>("--scale") { Description = "Weight of each adapter (one for all, or one per adapter); default 1.", AllowMultipleArgumentsPerToken = true };
        var dtype = new Option<string?>("--dtype") { Description = "Output dtype of floating-point tensors (f32, bf16, f16); default: the base's." };
        var output = new Option<string>("--output", "-o") { Description = "Output model folder (absent or empty unless --force).", Required = true };
        var shard = new Option<string?>("--shard-size") { Description = "Largest shard (e.g. 2GB); default 5GB." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary." };
        var command = new Command("apply", """
            W' = W + Σᵢ wᵢ·sᵢ·BᵢAᵢ per module (PEFT merge_and_unload; DoRA rescaled per output row; modules_to_save
            replaced), written as a Hugging Face folder (safetensors, base's config and tokenizer copied), one module at
            a time, atomically. The sum is rounded once to the output dtype.

            Examples:
              weightspace lora apply base/ lora-python/ -o merged/
              weightspace lora apply base-f32/ lora-python/ --dtype bf16 -o merged-bf16/
              weightspace lora apply base/ a/ b/ --scale 0.7 0.3 -o merged/
            """) { baseArg, adapters, scale, dtype, output, shard, force, json };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            string[] paths = pr.GetValue(adapters)!;
            double[] weights = pr.GetValue(scale) is { Length: > 0 } s ? s : [1.0];
            if (weights.Length != 1 && weights.Length != paths.Length)
                throw new UsageException($"--scale: give one value or one per adapter ({paths.Length}); got {weights.Length}");
            if (weights.Any(w => !double.IsFinite(w))) throw new UsageException("--scale values must be finite");
            string outDir = pr.GetValue(output)!;
            bool overwrite = pr.GetValue(force);
            MergeOutputRun.CheckOutput(outDir, overwrite);
            var options = new LoraApplyOptions
            {
                DType = ParseDType(pr.GetValue(dtype)),
                ShardSizeBytes = pr.GetValue(shard) is { } sh ? ConvertCommand.ParseSize(sh) : MergeDirectoryOptions.DefaultShardSizeBytes,
                Overwrite = overwrite,
            };
            var result = LoraApplication.Write(pr.GetValue(baseArg)!, paths, weights, outDir, options);
            if (pr.GetValue(json))
            {
                WriteJson(context, w =>
                {
                    w.WriteString("output", Path.GetFullPath(outDir));
                    w.WriteNumber("modules_merged", result.ModulesMerged);
                    w.WriteNumber("tensors_replaced", result.TensorsReplaced);
                    w.WriteNumber("tensors_copied", result.TensorsCopied);
                    w.WriteStartArray("files");
                    foreach (var f in result.Files) w.WriteStringValue(f);
                    w.WriteEndArray();
                });
            }
            else
            {
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {outDir}: {result.ModulesMerged} LoRA modules merged, {result.TensorsReplaced} tensors replaced, {result.TensorsCopied} copied ({string.Join(", ", result.Files)})"));
            }
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static DType? ParseDType(string? text)
    {
        if (text is null) return null;
        if (!DTypes.TryParse(text, out var d) || d is not (DType.F32 or DType.BF16 or DType.F16 or DType.F64))
            throw new UsageException($"--dtype '{text}': use f32, bf16, f16 or f64");
        return d;
    }

    private static void WriteJson(CliContext context, Action<Utf8JsonWriter> body)
    {
        context.Out.Flush();
        using var stdout = new StreamWriterStream(context.Out);
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }
}
