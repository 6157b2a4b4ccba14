using WeightSpace.Analysis.Language;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Peft;
using WeightSpace.Formats.Pickle;
using WeightSpace.Formats.PyTorch;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Formats.SentencePiece;
using WeightSpace.IO;

namespace WeightSpace.Fuzz;

/// <summary>The fuzz targets by name. A target takes one input and either returns or throws; the caller treats a
/// <see cref="WeightSpaceException"/> as the expected rejection and anything else as a finding. To add a parser, add
/// one entry here and a seed folder under <c>tools/WeightSpace.Fuzz/corpus/&lt;name&gt;</c>.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyDictionary<string, Action<ReadOnlySpan<byte>>> All { get; } =
        new Dictionary<string, Action<ReadOnlySpan<byte>>>(StringComparer.Ordinal)
        {
            // The safetensors header (u64 length + JSON) and every tensor it describes.
            ["safetensors"] = data => ReadAll(SafetensorsReader.Open(Scratch.Write(data))),
            // The restricted unpickler alone (in memory), then the object-tree walk that names tensors.
            ["pickle"] = Pickle,
            // The zip central directory (ZIP64 included) as torch.save's zip files use it.
            ["zip"] = data =>
            {
                using var file = new MappedFile(Scratch.Write(data), prefaultViews: false);
                _ = ZipDirectory.Read(file);
            },
            // The ONNX protobuf walk (graphs, subgraphs, initializers, Constant nodes) and every tensor read.
            ["onnx"] = data => ReadAll(OnnxReader.Open(Scratch.Write(data))),
            // Whole torch.save files, zip and legacy.
            ["pytorch"] = data => ReadAll(PyTorchReader.Open(Scratch.Write(data))),
            // GGUF: header, metadata (nested arrays), tensor infos, and every tensor dequantised; the default HF view
            // also runs the q/k un-permutation for llama-architecture inputs.
            ["gguf"] = data => ReadAll(GgufReader.Open(Scratch.Write(data))),
            // A two-part split set (gguf-split): a u32 length n, part 1's n bytes, then part 2; opened from part 2, so
            // the set's validation (names, split.* keys, tensor counts, duplicates across parts) runs on both.
            ["gguf-split"] = data =>
            {
                uint n = data.Length >= 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data) : 0;
                var rest = data.Length >= 4 ? data[4..] : [];
                int first = (int)Math.Min(n, (uint)rest.Length);
                Scratch.Write("set-00001-of-00002.gguf", rest[..first]);
                ReadAll(GgufReader.Open(Scratch.Write("set-00002-of-00002.gguf", rest[first..])));
            },
            // A GGUF as a language model: llama.* metadata → LlamaConfig, tokenizer.ggml.* → tokenizer, then an encode.
            ["gguf-lm"] = data =>
            {
                using var store = GgufReader.Open(Scratch.Write(data));
                GgufModelConfig.Config(store);
                GgufModelConfig.Tokenizer(store).Encode("Hello, wörld!\n\tdef f(x): return x ** 2  # ✓"u8, "text");
            },
            // The model folder's config.json (LLM architecture) parser.
            ["llm-config"] = data => LlamaConfig.Parse(data.ToArray(), "config.json"),
            // tokenizer.json, then encoding a fixed text with the parsed tokenizer.
            ["tokenizer"] = data => HuggingFaceTokenizer.Parse(data.ToArray(), "tokenizer.json").Encode("Hello, wörld!\n\tdef f(x): return x ** 2  # ✓"u8, "text"),
            // PEFT's adapter_config.json; each accepted config is also queried as real module names would be.
            ["peft-config"] = data =>
            {
                var config = PeftAdapterConfig.Parse(data, "adapter_config.json", new PeftOptions { RegexTimeout = TimeSpan.FromMilliseconds(100) });
                foreach (string module in new[] { "model.layers.0.self_attn.q_proj", "lm_head", "h.11.attn.c_attn" })
                    _ = (config.IsTargeted(module), config.ScaleOf(module));
            },
            // SentencePiece's tokenizer.model (a protobuf ModelProto); each accepted model's pieces are walked as the GGUF
            // vocabulary writer walks them.
            ["sentencepiece-model"] = data =>
            {
                var model = SentencePieceModel.Parse(data, "tokenizer.model");
                foreach (var piece in model.Pieces) _ = (piece.Piece.Length, piece.Score, piece.Type);
            },
            // The GGUF validator and every dequantiser straight on the input bytes: no scratch file, so AFL++ runs it at
            // thousands of executions a second. The "gguf" target covers the mapped-file store and the HF view.
            ["gguf-header"] = GgufHeaderAndBlocks,
            // Format detection plus whichever reader claims the input.
            ["any"] = data => ReadAll(Checkpoint.Open(Scratch.Write(data))),
        };

    private static readonly float[] DequantScratch = new float[1 << 16];

    private static void GgufHeaderAndBlocks(ReadOnlySpan<byte> data)
    {
        var header = GgufHeader.Parse("input", data, data.Length);
        foreach (var t in header.Tensors)
        {
            long start = header.DataStart + t.Offset;
            long blocks = Math.Min(t.ByteCount / t.DType.BytesPerBlock(), DequantScratch.Length / t.DType.BlockElementCount());
            int bytes = (int)(blocks * t.DType.BytesPerBlock());
            DTypeConversion.ToSingle(data.Slice((int)start, bytes), t.DType, DequantScratch);
        }
    }

    private static void Pickle(ReadOnlySpan<byte> data)
    {
        var options = new PyTorchOptions();
        // Storages are resolved to a fixed-size stand-in, so tensor views in the pickle are checked against something.
        var unpickler = new RestrictedUnpickler("<fuzz>", options.UnpicklerLimits, (_, _) => new TorchStorage("0", DType.F32, 1 << 16) { DataOffset = 0 });
        object? root = unpickler.Load(data, 0, cutByLimit: false);
        ObjectTree.Walk("<fuzz>", root, options, [], []);
    }

    private static void ReadAll(TensorStore store)
    {
        using (store)
        {
            foreach (var t in store.Tensors)
            {
                using var buffer = store.Read(t.Name);
                if (t.ElementCount <= 1 << 20) _ = buffer.ToSingleArray();
            }
        }
    }
}

/// <summary>The one scratch file a fuzzing process writes its inputs to (the readers take paths: they map files), in
/// a private folder, on tmpfs where there is one.</summary>
internal static class Scratch
{
    private static readonly string Folder = CreateFolder();
    public static string Write(ReadOnlySpan<byte> data) => Write("input.bin", data);

    /// <summary>Writes <paramref name="data"/> as <paramref name="name"/> in the scratch folder (formats that find
    /// sibling files by name).</summary>
    public static string Write(string name, ReadOnlySpan<byte> data)
    {
        string path = Path.Combine(Folder, name);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1))
            stream.Write(data);
        return path;
    }

    private static string CreateFolder()
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string folder = Path.Combine(root, $"weightspace-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        return folder;
    }
}

/// <summary>Runs saved inputs (AFL++ crashes, a corpus) through a target once each, outside any fuzzer, and prints
/// every exception that escapes: the way to reproduce a finding and to check its fix.</summary>
internal static class Replay
{
    public static int Run(string[] paths, Action<ReadOnlySpan<byte>> target)
    {
        int inputs = 0, escapes = 0;
        foreach (string file in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal))
        {
            inputs++;
            try { target(System.IO.File.ReadAllBytes(file)); }
            catch (WeightSpaceException) { }
            catch (Exception e)
            {
                escapes++;
                Console.WriteLine($"{file}: {e.GetType().FullName}: {e.Message}");
                Console.WriteLine(e.StackTrace);
            }
        }
        Console.WriteLine($"{inputs} inputs, {escapes} escaped exceptions");
        return escapes == 0 ? 0 : 1;
    }
}
