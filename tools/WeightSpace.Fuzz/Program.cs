using SharpFuzz;
using WeightSpace;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.PyTorch;
using WeightSpace.Formats.Safetensors;

// A fuzz target per reader: open the input and read every tensor; anything but a WeightSpaceException is a finding.
// Readers take paths (they memory-map files), so each input is written to one scratch file first.
string target = args.FirstOrDefault() ?? "";
Func<string, TensorStore>? open = target switch
{
    "safetensors" => p => SafetensorsReader.Open(p),
    "pytorch" => p => PyTorchReader.Open(p),
    "onnx" => p => OnnxReader.Open(p),
    // The default (HF) view: for llama-architecture inputs it also runs the q/k un-permutation.
    "gguf" => p => GgufReader.Open(p),
    "gguf-header" => null,   // in memory, below
    "any" => p => Checkpoint.Open(p),
    _ => null,
};
if (target == "gguf-header")
{
    // The GGUF validator and every dequantiser straight on the input bytes: no scratch file, so AFL++ runs it at
    // thousands of executions a second. The "gguf" target covers the mapped-file store and the HF view.
    float[] floats = new float[1 << 16];
    void RunHeader(ReadOnlySpan<byte> data)
    {
        try
        {
            var header = GgufHeader.Parse("input", data, data.Length);
            foreach (var t in header.Tensors)
            {
                long start = header.DataStart + t.Offset;
                long blocks = Math.Min(t.ByteCount / t.DType.BytesPerBlock(), floats.Length / t.DType.BlockElementCount());
                int bytes = (int)(blocks * t.DType.BytesPerBlock());
                DTypeConversion.ToSingle(data.Slice((int)start, bytes), t.DType, floats);
            }
        }
        catch (WeightSpaceException) { }
    }
    if (args.Contains("--afl")) Fuzzer.Run(stream => { using var ms = new MemoryStream(); stream.CopyTo(ms); RunHeader(ms.ToArray()); });
    else Fuzzer.LibFuzzer.Run(span => RunHeader(span));
    return 0;
}
if (open is null)
{
    Console.Error.WriteLine("usage: WeightSpace.Fuzz safetensors|pytorch|onnx|gguf|gguf-header|any [--afl]   (libFuzzer by default)");
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
