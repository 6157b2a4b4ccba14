namespace WeightSpace.Formats.Gguf;

/// <summary>What <see cref="GgufHfImport.Write"/> wrote.</summary>
/// <param name="Path">The GGUF file.</param>
/// <param name="TensorCount">Tensors written.</param>
/// <param name="TypeCounts">How many tensors of each output type.</param>
/// <param name="MetadataCount">Metadata key/value pairs written.</param>
public sealed record GgufHfImportResult(string Path, int TensorCount, IReadOnlyDictionary<DType, int> TypeCounts, int MetadataCount);

/// <summary>Writes a Hugging Face <c>LlamaForCausalLM</c> folder (config.json, tokenizer.json, safetensors or
/// pytorch_model.bin) as a llama.cpp-loadable GGUF v3 file, as llama.cpp's <c>convert_hf_to_gguf.py</c>
/// (<c>LlamaModel</c>) does: <c>llama.*</c> hyperparameters, <c>tokenizer.ggml.*</c> from tokenizer.model or tokenizer.json, GGUF tensor
/// names, the forward q/k row permutation for rotary layout, 1-D tensors in F32 and matrices in the chosen type.</summary>
public static class GgufHfImport
{
    /// <summary>The output types: F32, F16, BF16, Q8_0 (gguf-py's / llama.cpp's reference quantiser) and Q4_0
    /// (llama.cpp's <c>quantize_row_q4_0_ref</c>; convert_hf_to_gguf.py itself stops at Q8_0).</summary>
    public static bool IsWritable(DType type) => GgufRequantizer.IsWritable(type);

    /// <summary>Largest config.json or tokenizer_config.json read, in bytes.</summary>
    public const long MaxConfigBytes = 16L << 20;

    /// <summary>Largest tokenizer.json read, in bytes.</summary>
    public const long MaxTokenizerBytes = 256L << 20;

    /// <summary>Writes <paramref name="outputPath"/> (temp file, fsync, rename; nothing is written when the input is refused).</summary>
    /// <param name="modelFolder">The Hugging Face folder.</param>
    /// <param name="outputPath">The .gguf file to write.</param>
    /// <param name="type">Type of the matrices; 1-D tensors are always F32.</param>
    /// <param name="name"><c>general.name</c>; the folder's name when null.</param>
    /// <param name="bytesWritten">Progress in tensor bytes written.</param>
    /// <param name="split">Write a gguf-split set (all parts or none) instead of one file; the result names the first part.</param>
    /// <exception cref="FileNotFoundException">config.json, the tokenizer (tokenizer.model or tokenizer.json) or the weights are missing.</exception>
    /// <exception cref="InvalidCheckpointException">config.json or tokenizer.json is malformed, or a tensor does not match the config.</exception>
    /// <exception cref="UnsupportedFormatException">The architecture or tokenizer has no GGUF mapping here.</exception>
    public static GgufHfImportResult Write(string modelFolder, string outputPath, DType type, string? name = null, IProgress<long>? bytesWritten = null, GgufSplitOptions? split = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelFolder);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        if (!IsWritable(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "GGUF output types are F32, F16, BF16, Q8_0 and Q4_0.");
        if (!Directory.Exists(modelFolder)) throw new DirectoryNotFoundException($"{modelFolder}: not a folder (a Hugging Face model folder with config.json and tokenizer.json)");

        string configPath = Require(modelFolder, "config.json");
        var hp = LlamaHyperparameters.Read(configPath);
        var (tokenizer, vocabSize) = GgufTokenizerImport.Read(modelFolder, configPath, hp.VocabSize);
        hp = hp with { VocabSize = vocabSize };

        using var store = Checkpoint.Open(modelFolder);
        var tensors = Plan(store, hp, type);
        var metadata = new List<KeyValuePair<string, GgufValue>>();
        void Add(string key, GgufValueType t, object value) => metadata.Add(new(key, new GgufValue(t, value)));
        Add("general.architecture", GgufValueType.String, "llama");
        Add("general.type", GgufValueType.String, "model");
        Add("general.name", GgufValueType.String, name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelFolder))));
        Add("general.alignment", GgufValueType.UInt32, (uint)Alignment);
        metadata.AddRange(hp.Metadata(GgufRequantizer.FileType(type)));
        Add("general.quantization_version", GgufValueType.UInt32, 2u);
        metadata.AddRange(tokenizer);

        var written = GgufFileWriter.Write(outputPath, metadata, tensors, Alignment, bytesWritten, split);
        var counts = tensors.GroupBy(t => t.Type).ToDictionary(g => g.Key, g => g.Count());
        return new GgufHfImportResult(written[0], tensors.Count, counts, metadata.Count);
    }

    /// <summary>The data alignment written (GGUF's default, stated in <c>general.alignment</c>).</summary>
    public const int Alignment = 32;

    private static List<GgufTensorToWrite> Plan(TensorStore store, LlamaHyperparameters hp, DType type)
    {
        var result = new List<GgufTensorToWrite>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var info in store.Tensors)
        {
            // convert_hf_to_gguf.py skips the rotary buffers some checkpoints carry; they are recomputed from rope_theta.
            if (info.Name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
            var mapped = GgufHfNames.ToGguf(info.Name, hp.HeadCount, hp.HeadCountKv)
                ?? throw new InvalidCheckpointException(store.Path, info.Name, "has no GGUF name for a llama model (convert_hf_to_gguf.py: \"Can not map tensor\")");
            if (!info.DType.IsFloatingPoint())
                throw new InvalidCheckpointException(store.Path, info.Name, $"is {info.DType.ToShortName()}; GGUF weights are written from floating-point tensors");
            long[] shape = info.Shape.ToArray();
            if (shape.Length is 0 or > 2)
                throw new InvalidCheckpointException(store.Path, info.Name, $"has {shape.Length} dimensions; a llama model's tensors have 1 or 2");
            if (mapped.Name.StartsWith("blk.", StringComparison.Ordinal) && int.Parse(mapped.Name.Split('.')[1], CultureInfo.InvariantCulture) is var layer && layer >= hp.BlockCount)
                throw new InvalidCheckpointException(store.Path, info.Name, $"is in layer {layer} but config.json has num_hidden_layers {hp.BlockCount}");
            int heads = mapped.PermuteHeads;
            if (heads > 0)
            {
                long expectedRows = checked((long)heads * hp.HeadDim);
                if (shape[0] != expectedRows)
                    throw new InvalidCheckpointException(store.Path, info.Name, $"has {shape[0]} rows; {heads} heads × head_dim {hp.HeadDim} = {expectedRows} are needed to permute it for rotary layout");
            }
            if (!seen.Add(mapped.Name)) throw new InvalidCheckpointException(store.Path, info.Name, $"maps to GGUF name '{mapped.Name}' twice");
            long[] ne = [.. shape.Reverse()];
            DType outType = shape.Length < 2 ? DType.F32 : ne[0] % type.BlockElementCount() != 0 ? DType.F16 : type;
            string hfName = info.Name;
            result.Add(new GgufTensorToWrite(mapped.Name, ne, outType, () =>
            {
                float[] values = store.ReadSingle(hfName);
                if (heads > 0) values = Permute(values, shape[0], shape.Length == 2 ? shape[1] : 1, heads);
                return GgufRequantizer.Encode(values, outType);
            }));
        }
        foreach (string required in (string[])["token_embd.weight", "output_norm.weight"])
            if (!seen.Contains(required)) throw new InvalidCheckpointException(store.Path, null, $"has no tensor for GGUF '{required}' (model.embed_tokens.weight / model.norm.weight)");
        return result;
    }

    /// <summary>convert_hf_to_gguf.py's <c>LlamaModel.permute</c>: rows regrouped so each head's two rotary halves interleave.</summary>
    internal static float[] Permute(float[] values, long rows, long cols, int heads)
    {
        var result = new float[values.Length];
        for (long r = 0; r < rows; r++)
            Array.Copy(values, GgufHfNames.HfRowOf(r, rows, heads) * cols, result, r * cols, cols);
        return result;
    }

    private static string Require(string folder, string file)
    {
        string path = Path.Combine(folder, file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{folder}: no {file} (writing GGUF needs the Hugging Face folder's {file})", path);
    }

    internal static JsonDocument ReadJson(string path, long maxBytes)
    {
        long length = new FileInfo(path).Length;
        if (length > maxBytes) throw new InvalidCheckpointException(path, null, $"has {length} bytes, more than the {maxBytes} accepted");
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new InvalidCheckpointException(path, null, $"is not valid JSON: {e.Message}", e);
        }
    }
}
