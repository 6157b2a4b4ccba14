using SharpFuzz;
using WeightSpace;
using WeightSpace.Fuzz;

// One fuzz target per parser (FuzzTargets.All). Anything but a WeightSpaceException escaping a target is a finding.
// Usage: WeightSpace.Fuzz <target> [--afl]   (libFuzzer's protocol by default, AFL++'s with --afl)
//        WeightSpace.Fuzz <target> --replay <file|folder>...   runs inputs once each and reports escapes (no fuzzer).
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: WeightSpace.Fuzz {string.Join('|', FuzzTargets.All.Keys)} [--afl | --replay <path>...]");
    return 2;
}

void Run(ReadOnlySpan<byte> data)
{
    try { target(data); }
    catch (WeightSpaceException) { }   // a typed rejection is the expected outcome for bad input
}

int replay = Array.IndexOf(args, "--replay");
if (replay >= 0) return Replay.Run(args[(replay + 1)..], target);
if (args.Contains("--afl")) Fuzzer.Run(stream => { using var ms = new MemoryStream(); stream.CopyTo(ms); Run(ms.ToArray()); });
else Fuzzer.LibFuzzer.Run(span => Run(span));
return 0;
