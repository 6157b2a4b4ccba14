using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Cli.Commands;

/// <summary><c>weightspace convert IN OUT [--dtype f32|f16|bf16] [--shard-size 2GB]</c>.</summary>
internal static class ConvertCommand
{
    public static Command Create(CliContext context)
    {
        var input = new Argument<string>("input") { Description = "Any checkpoint WeightSpace reads (safetensors, torch.save, GGUF, ONNX)." };
        var output = new Argument<string>("output") { Description = "The .safetensors file to write, or a directory when --shard-size is given; for a llama GGUF, a directory gets a Hugging Face folder (model.safetensors, config.json, tokenizer.json)." };
        var dtype = new Option<string?>("--dtype") { Description = "Convert floating-point tensors to f32, f16, bf16 or f64 (integer tensors are kept)." };
        var ggufType = new Option<string?>("--type") { Description = "For a .gguf OUTPUT: the type of the matrices, f32, f16, bf16, q8_0 or q4_0 (llama.cpp's reference quantisation; 1-D tensors stay f32). Required for a GGUF input; f16 (convert_hf_to_gguf.py's default) for a Hugging Face folder." };
        var ggufName = new Option<string?>("--name") { Description = "For a .gguf OUTPUT from a Hugging Face folder: general.name (default: the folder's name)." };
        var splitMaxSize = new Option<string?>("--split-max-size") { Description = "For a .gguf OUTPUT: write a llama.cpp gguf-split set OUT-00001-of-0000N.gguf, parts of at most this much tensor data (gguf-split's 500M, 2G, decimal; also 500MB, 512MiB). A GGUF input without --type is copied as stored." };
        var splitMaxTensors = new Option<int?>("--split-max-tensors") { Description = "For a .gguf OUTPUT: write a gguf-split set with at most N tensors per part." };
        var shardSize = new Option<string?>("--shard-size") { Description = "Write shards of at most this size (e.g. 2GB, 500MB) plus model.safetensors.index.json into OUTPUT as a directory." };
        var command = new Command("convert", """
            Write any supported checkpoint as safetensors, one tensor at a time.

            Examples:
              weightspace convert pytorch_model.bin model.safetensors
              weightspace convert model.onnx model.safetensors --dtype bf16
              weightspace convert big.pt out_dir --shard-size 2GB
              weightspace convert model-Q4_K_M.gguf hf_model/      (dequantised, HF names, config.json, tokenizer.json)
              weightspace convert model-f32.gguf model-q8_0.gguf --type q8_0
              weightspace convert hf_llama_folder/ model-f16.gguf --type f16   (llama.cpp-loadable, as convert_hf_to_gguf.py)
              weightspace convert model.gguf out.gguf --split-max-size 2G   (out-00001-of-0000N.gguf, as llama-gguf-split)
            """) { input, output, dtype, ggufType, ggufName, splitMaxSize, splitMaxTensors, shardSize };
        command.SetAction(pr => WeightSpaceCommandLine.Guard(context, () =>
        {
            DType? target = ParseDType(pr.GetValue(dtype));
            long? shard = pr.GetValue(shardSize) is { } s ? ParseSize(s) : null;
            string outPath = pr.GetValue(output)!;
            if (outPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                return WriteGguf(context, pr.GetValue(input)!, outPath, pr.GetValue(ggufType), pr.GetValue(ggufName), SplitOptions(pr.GetValue(splitMaxSize), pr.GetValue(splitMaxTensors)));
            if (pr.GetValue(splitMaxSize) is not null || pr.GetValue(splitMaxTensors) is not null)
                throw new UsageException("--split-max-size and --split-max-tensors apply to a .gguf OUTPUT");
            using var store = Checkpoint.Open(pr.GetValue(input)!);
            if (store is GgufStore gguf && !outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                var result = WithProgress(context, store.ByteCount, p => GgufHfExport.Write(gguf, outPath, target, shard, p));
                context.Out.WriteLine($"wrote {outPath}: {string.Join(", ", result.Files)} ({store.Tensors.Count} tensors, Hugging Face names{(target is { } dt ? $", floating-point as {dt.ToShortName()}" : ", quantised tensors as f32")})");
                foreach (string skipped in result.Skipped) context.Out.WriteLine($"not written: {skipped}");
                return WeightSpaceCommandLine.Ok;
            }
            // safetensors metadata carries over; other formats' metadata (ONNX producer, pickle facts) describes the
            // old container, not the weights. "format": "pt" is what loaders such as transformers expect.
            var metadata = store.Format == CheckpointFormat.Safetensors
                ? new Dictionary<string, string>(store.Metadata)
                : new Dictionary<string, string> { ["format"] = "pt" };
            var options = new SafetensorsWriteOptions { ShardSizeBytes = shard, Metadata = metadata };
            long total = store.ByteCount;
            if (context.ErrorIsTerminal)
            {
                context.ErrorConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("converting", maxValue: Math.Max(1, total));
                        SafetensorsWriter.Copy(store, outPath, options, target, new Progress<long>(b => task.Value = b));
                        task.Value = task.MaxValue;
                    });
            }
            else
            {
                SafetensorsWriter.Copy(store, outPath, options, target);
            }
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {outPath}: {store.Tensors.Count} tensors{(target is { } t ? $", floating-point as {t.ToShortName()}" : "")}{(shard is { } sz ? $", shards of at most {InspectCommand.FormatBytes(sz)}" : "")}"));
            return WeightSpaceCommandLine.Ok;
        }));
        return command;
    }

    private static GgufSplitOptions? SplitOptions(string? maxSize, int? maxTensors)
    {
        if (maxSize is not null && maxTensors is not null)
            throw new UsageException("either --split-max-size or --split-max-tensors can be given, not both (as gguf-split)");
        if (maxTensors < 1) throw new UsageException($"--split-max-tensors {maxTensors} must be at least 1");
        return maxSize is not null ? new GgufSplitOptions { MaxBytes = CliValues.ParseSize("--split-max-size", maxSize) }
            : maxTensors is { } n ? new GgufSplitOptions { MaxTensors = n } : null;
    }

    private static int WriteGguf(CliContext context, string input, string outPath, string? typeText, string? name, GgufSplitOptions? split)
    {
        input = Checkpoint.ResolveLocal(input);   // a hub id is its snapshot folder
        bool ggufInput = Checkpoint.Identify(input).Format == CheckpointFormat.Gguf;
        if (typeText is null && ggufInput && split is not null)
        {
            if (name is not null) throw new UsageException("--name applies to a Hugging Face folder input; a GGUF input keeps its general.name");
            var parts = RefuseEmptyPart(() => GgufRequantizer.Split(input, outPath, split));
            context.Out.WriteLine($"wrote {parts.Count} parts: {string.Join(", ", parts)} (tensors and metadata as stored)");
            return WeightSpaceCommandLine.Ok;
        }
        if (typeText is null && ggufInput) throw new UsageException("--type is required to rewrite a GGUF file (f32, f16, bf16, q8_0 or q4_0), or --split-max-size/--split-max-tensors to split it as stored");
        typeText ??= "f16";
        if (!DTypes.TryParse(typeText, out var quantType) && !Enum.TryParse(typeText, ignoreCase: true, out quantType) || !GgufRequantizer.IsWritable(quantType))
            throw new UsageException($"--type '{typeText}' is not one of f32, f16, bf16, q8_0, q4_0");
        if (ggufInput)
        {
            if (name is not null) throw new UsageException("--name applies to a Hugging Face folder input; a GGUF input keeps its general.name");
            var files = RefuseEmptyPart(() => GgufRequantizer.Write(input, outPath, quantType, split: split));
            context.Out.WriteLine($"wrote {string.Join(", ", files)}: matrices as {quantType.ToShortName()}, 1-D tensors as f32, metadata kept");
            return WeightSpaceCommandLine.Ok;
        }
        // A weights file inside a Hugging Face folder stands for the folder (config.json and tokenizer.json are beside it).
        string folder = Directory.Exists(input) ? input : Path.GetDirectoryName(Path.GetFullPath(input))!;
        if (!File.Exists(Path.Combine(folder, "config.json")))
            throw new UsageException($"writing GGUF needs a Hugging Face model folder (config.json, tokenizer.json, weights) or a GGUF file; {input} is neither");
        long total = 0;
        using (var probe = Checkpoint.Open(folder)) total = probe.ByteCount;
        var result = WithProgress(context, total, p => RefuseEmptyPart(() => GgufHfImport.Write(folder, outPath, quantType, name, p, split)));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {result.Path}: {result.TensorCount} tensors ({string.Join(", ", result.TypeCounts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Value} {kv.Key.ToShortName()}"))}), {result.MetadataCount} metadata keys, llama architecture, gpt2 tokenizer"));
        return WeightSpaceCommandLine.Ok;
    }

    // A split limit smaller than the first tensor is the user's option at fault, not the model.
    private static T RefuseEmptyPart<T>(Func<T> write)
    {
        try { return write(); }
        catch (ArgumentException e) when (e.ParamName == "options") { throw new UsageException($"--split-max-size: {e.Message.Split(" (Parameter")[0]}"); }
    }

    private static T WithProgress<T>(CliContext context, long total, Func<IProgress<long>?, T> run)
    {
        if (!context.ErrorIsTerminal) return run(null);
        T result = default!;
        context.ErrorConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("converting", maxValue: Math.Max(1, total));
                result = run(new Progress<long>(b => task.Value = b));
                task.Value = task.MaxValue;
            });
        return result;
    }

    internal static DType? ParseDType(string? text) => text is null ? null : CliValues.ParseFloatDType("--dtype", text);

    internal static long ParseSize(string text) => CliValues.ParseSize("--shard-size", text);
}
