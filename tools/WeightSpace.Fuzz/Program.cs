using SharpFuzz;
using WeightSpace;
using WeightSpace.Formats;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.PyTorch;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Analysis.Language;

// A fuzz target per reader: open the input and read every tensor; anything but a WeightSpaceException is a finding.
// Readers take paths (they memory-map files), so each input is written to one scratch file first.
string target = args.FirstOrDefault() ?? "";

// The model-folder JSON parsers take bytes: no scratch file. A parsed tokenizer also encodes a fixed text.
Action<byte[]>? parseJson = target switch
{
    "llm-config" => bytes => LlamaConfig.Parse(bytes, "config.json"),
    "tokenizer" => bytes => HuggingFaceTokenizer.Parse(bytes, "tokenizer.json").Encode("Hello, wörld!\n\tdef f(x): return x ** 2  # ✓"u8, "text"),
    _ => null,
};
if (parseJson is not null)
{
    void RunJson(byte[] data)
    {
        try { parseJson(data); }
        catch (WeightSpaceException) { }
    }
    if (args.Contains("--afl")) Fuzzer.Run(stream => { using var ms = new MemoryStream(); stream.CopyTo(ms); RunJson(ms.ToArray()); });
    else Fuzzer.LibFuzzer.Run(span => RunJson(span.ToArray()));
    return 0;
}
Func<string, TensorStore>? open = target switch
{
    "safetensors" => p => SafetensorsReader.Open(p),
    "pytorch" => p => PyTorchReader.Open(p),
    "onnx" => p => OnnxReader.Open(p),
    "any" => p => Checkpoint.Open(p),
    _ => null,
};
if (open is null)
{
    Console.Error.WriteLine("usage: WeightSpace.Fuzz safetensors|pytorch|onnx|any|llm-config|tokenizer [--afl]   (libFuzzer by default)");
    return 2;
}

string scratch = Path.Combine(Path.GetTempPath(), $"weightspace-fuzz-{Environment.ProcessId}.bin");
void Run(ReadOnlySpan<byte> data)
{
    File.WriteAllBytes(scratch, data.ToArray());
    try
    {
        using var store = open(scratch);
        foreach (var t in store.Tensors)
        {
            using var buffer = store.Read(t.Name);
            if (t.ElementCount <= 1 << 20) _ = buffer.ToSingleArray();
        }
    }
    catch (WeightSpaceException) { }   // a typed rejection is the expected outcome for bad input
}

if (args.Contains("--afl")) Fuzzer.Run(stream => { using var ms = new MemoryStream(); stream.CopyTo(ms); Run(ms.ToArray()); });
else Fuzzer.LibFuzzer.Run(span => Run(span));
return 0;
