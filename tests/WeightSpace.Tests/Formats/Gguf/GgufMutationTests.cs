using CsCheck;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>Property: any mutation of a real GGUF file (bit flips, insertions, truncation; seeded) either parses and
/// dequantises completely or fails with <see cref="InvalidCheckpointException"/>; never another
/// exception type. Runs in memory through <see cref="GgufHeader.Parse"/> and the dequantisers.</summary>
public sealed class GgufMutationTests
{
    private const int Cases = 2000;

    private static readonly string[] Sources =
    [
        "gguf/synthetic/plain-types.gguf", "gguf/synthetic/align64.gguf", "gguf/synthetic/quant-gguf-py.gguf",
    ];

    [Fact]
    public void ParseAndDequantise_MutatedRealFile_SucceedsOrThrowsInvalidCheckpoint()
    {
        var originals = Sources.Select(s => File.ReadAllBytes(SharedData.Require(s))).ToArray();
        int ok = 0, invalid = 0;
        var mutation = Gen.Select(Gen.Int[0, originals.Length - 1], Gen.Int[0, 2], Gen.Int[0, int.MaxValue], Gen.Byte.Array[1, 4]);
        mutation.Array[Cases].Sample(cases =>
        {
            ok = invalid = 0;
            foreach (var (file, kind, where, bytes) in cases) Run(originals[file], kind, where, bytes);
        }, iter: 1, threads: 1, seed: "0000000000G1");

        void Run(byte[] original, int kind, int where, byte[] bytes)
        {
            // Most of the structure is in the header (about the first third of these files).
            int position = where % (where % 4 == 0 ? original.Length : original.Length / 3);
            byte[] mutated = kind switch
            {
                0 => Flip(original, position, bytes),
                1 => [.. original[..position], .. bytes, .. original[position..]],
                _ => original[..position],
            };
            try
            {
                var header = GgufHeader.Parse("case.gguf", mutated, mutated.Length);
                foreach (var t in header.Tensors)
                {
                    var data = mutated.AsSpan((int)(header.DataStart + t.Offset), (int)t.ByteCount);
                    var values = new float[t.ByteCount / t.DType.BytesPerBlock() * t.DType.BlockElementCount()];
                    DTypeConversion.ToSingle(data, t.DType, values);
                }
                ok++;
            }
            catch (InvalidCheckpointException e)
            {
                Assert.StartsWith("case.gguf", e.Message);
                invalid++;
            }
        }

        Assert.Equal(Cases, ok + invalid);
        Assert.InRange(invalid, Cases / 10, Cases);
        Assert.InRange(ok, Cases / 20, Cases);
    }

    private static byte[] Flip(byte[] original, int position, byte[] masks)
    {
        byte[] copy = (byte[])original.Clone();
        for (int i = 0; i < masks.Length && position + i < copy.Length; i++)
            copy[position + i] ^= masks[i] == 0 ? (byte)1 : masks[i];
        return copy;
    }
}
