using CsCheck;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Formats.Safetensors;

/// <summary>Property: any mutation of a real safetensors file either opens and reads completely, or fails with
/// <see cref="InvalidCheckpointException"/>; never another exception type, never a crash.</summary>
public sealed class SafetensorsMutationTests
{
    private const int Cases = 2000;

    private static readonly string[] Sources =
    [
        "safetensors/no_metadata.safetensors", "safetensors/dtypes.safetensors", "safetensors/mlp.safetensors",
        "safetensors/cnn_sharded/model-00002-of-00002.safetensors",
    ];

    [Fact]
    public void OpenAndReadAll_MutatedRealFile_SucceedsOrThrowsInvalidCheckpoint()
    {
        var originals = Sources.Select(s => File.ReadAllBytes(SharedData.Require(s))).ToArray();
        string folder = SharedData.TempFolder();
        int outcomesOk = 0, outcomesInvalid = 0;

        // Half the mutations land in the length prefix and JSON header, where the checks are; the rest anywhere.
        var mutation = Gen.Select(Gen.Int[0, originals.Length - 1], Gen.Int[0, 2], Gen.Bool, Gen.Int[0, int.MaxValue], Gen.Byte.Array[1, 4]);
        // CsCheck seeds only the first iteration, so one seeded sample of all cases makes the run reproducible.
        mutation.Array[Cases].Sample(cases =>
        {
            outcomesOk = outcomesInvalid = 0;
            foreach (var (file, kind, inHeader, where, bytes) in cases) Run(file, kind, inHeader, where, bytes);
        }, iter: 1, threads: 1, seed: "0000000000S2");

        void Run(int file, int kind, bool inHeader, int where, byte[] bytes)
        {
            byte[] original = originals[file];
            long headerEnd = 8 + BitConverter.ToInt64(original, 0);
            int position = (int)(inHeader ? where % headerEnd : where % original.Length);
            byte[] mutated = kind switch
            {
                0 => Flip(original, position, bytes),
                1 => [.. original[..position], .. bytes, .. original[position..]],
                _ => original[..position],
            };
            string path = Path.Combine(folder, "case.safetensors");
            File.WriteAllBytes(path, mutated);
            try
            {
                using var store = SafetensorsReader.Open(path);
                double checksum = 0;
                foreach (var info in store.Tensors)
                {
                    using var buffer = store.Read(info.Name);
                    foreach (double v in buffer.ToDoubleArray()) checksum += double.IsFinite(v) ? v : 0;
                }
                Assert.False(double.IsNaN(checksum));
                outcomesOk++;
            }
            catch (InvalidCheckpointException e)
            {
                Assert.StartsWith(path, e.Message);
                outcomesInvalid++;
            }
        }

        Assert.Equal(Cases, outcomesOk + outcomesInvalid);
        // Both outcomes must occur, or the generator is not exercising the validator.
        Assert.InRange(outcomesInvalid, Cases / 10, Cases);
        Assert.InRange(outcomesOk, Cases / 10, Cases);
    }

    private static byte[] Flip(byte[] original, int position, byte[] masks)
    {
        byte[] copy = (byte[])original.Clone();
        for (int i = 0; i < masks.Length && position + i < copy.Length; i++)
            copy[position + i] ^= masks[i] == 0 ? (byte)1 : masks[i];
        return copy;
    }
}
