using SharpFuzz;
using WeightSpace;
using WeightSpace.Formats;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Peft;
using WeightSpace.Formats.PyTorch;
using WeightSpace.Formats.Safetensors;

// A fuzz target per reader: open the input and read every tensor; anything but a WeightSpaceException is a finding.
// Readers take paths (they memory-map files), so each input is written to one scratch file first.
string target = args.FirstOrDefault() ?? "";
if (target == "peft-config")
{
    // adapter_config.json is parsed from bytes; each accepted config is also queried like a real module name would be.
    void RunConfig(ReadOnlySpan<byte> data)
    {
        try
        {
            var config = PeftAdapterConfig.Parse(data, "adapter_config.json", new PeftOptions { RegexTimeout = TimeSpan.FromMilliseconds(100) });
            foreach (string module in new[] { "model.layers.0.self_attn.q_proj", "lm_head", "h.11.attn.c_attn" })
                _ = (config.IsTargeted(module), config.ScaleOf(module));
        }
        catch (WeightSpaceException) { }
    }
    if (args.Contains("--afl")) Fuzzer.Run(stream => { using var ms = new MemoryStream(); stream.CopyTo(ms); RunConfig(ms.ToArray()); });
    else Fuzzer.LibFuzzer.Run(span => RunConfig(span));
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
    Console.Error.WriteLine("usage: WeightSpace.Fuzz safetensors|pytorch|onnx|any|peft-config [--afl]   (libFuzzer by default)");
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
