using CsCheck;
using WeightSpace.Formats.Onnx;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Mutated real models: opening and reading every weight either succeeds or throws
/// <see cref="InvalidCheckpointException"/>; no other exception type escapes.</summary>
public sealed class OnnxReaderFuzzTests
{
    // Structure-heavy files (subgraphs, Constants, external data) so most mutations land in headers, not weights.
    private static readonly string[][] Sources =
    [
        ["onnx/external/silero_vad_legacy/model.onnx", "onnx/external/silero_vad_legacy/model.onnx.data"],
        ["onnx/external/ppocr_cls_constants/model.onnx", "onnx/external/ppocr_cls_constants/model.onnx.data"],
        ["onnx/external/hello_deepa_per_tensor/model.onnx", .. SharedData.TryResolve("onnx/external/hello_deepa_per_tensor") is { } helloDeepa
            ? Directory.GetFiles(helloDeepa).Select(f => "onnx/external/hello_deepa_per_tensor/" + Path.GetFileName(f))
                .Where(f => !f.EndsWith(".onnx", StringComparison.Ordinal) && !f.EndsWith(".json", StringComparison.Ordinal))
            : []],
        ["digits_mlp/mlp_seed0.onnx"],
    ];

    public const int Cases = 2000;

    [Fact]
    public void OpenAndRead_MutatedRealModels_SucceedOrThrowInvalidCheckpoint()
    {
        var folders = new string[Sources.Length];
        var originals = new byte[Sources.Length][];
        for (int s = 0; s < Sources.Length; s++)
        {
            folders[s] = SharedData.TempFolder();
            originals[s] = File.ReadAllBytes(SharedData.Require(Sources[s][0]));
            foreach (string extra in Sources[s].Skip(1))
                File.Copy(SharedData.Require(extra), Path.Combine(folders[s], Path.GetFileName(extra)));
        }
        int accepted = 0, rejected = 0;

        var gen = Gen.Select(Gen.Int[0, Sources.Length - 1], Gen.Int[0, 4], Gen.Int);
        gen.Sample((source, kind, seed) =>
        {
            byte[] bytes = Mutate(originals[source], kind, new Random(seed));
            string path = OnnxTestModels.Write(bytes, folders[source]);
            try
            {
                using var model = OnnxReader.Open(path);
                foreach (var t in model.Tensors)
                {
                    using var buffer = model.Read(t.Name);
                    if (buffer.ByteCount > 0) _ = buffer.GetBytes(buffer.ByteCount - 1, 1)[0];
                }
                accepted++;
            }
            catch (InvalidCheckpointException)
            {
                rejected++;
            }
        }, iter: Cases, threads: 1, seed: "0N0XIzNsQ0O2");

        Assert.Equal(Cases, accepted + rejected);
        Assert.True(rejected > 0 && accepted > 0, $"accepted {accepted}, rejected {rejected}");
        TestContext.Current.TestOutputHelper?.WriteLine($"{Cases} mutated models: {accepted} opened and read, {rejected} rejected");
    }

    private static byte[] Mutate(byte[] original, int kind, Random random)
    {
        var bytes = (byte[])original.Clone();
        switch (kind)
        {
            case 0:   // a few random bytes replaced
                for (int i = random.Next(1, 5); i > 0; i--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 1:   // one bit flipped
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 2:   // truncated
                return bytes[..random.Next(bytes.Length)];
            case 3:   // a run of 0xFF: oversized varints and lengths
            {
                int at = random.Next(bytes.Length), run = Math.Min(random.Next(1, 12), bytes.Length - at);
                bytes.AsSpan(at, run).Fill(0xFF);
                return bytes;
            }
            default:  // random bytes inserted
            {
                int at = random.Next(bytes.Length);
                var insert = new byte[random.Next(1, 8)];
                random.NextBytes(insert);
                return [.. bytes[..at], .. insert, .. bytes[at..]];
            }
        }
    }
}
