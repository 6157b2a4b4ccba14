using CsCheck;
using WeightSpace.Formats.PyTorch;

namespace WeightSpace.Tests.Formats.PyTorch;

/// <summary>Mutated real torch files: opening and reading every tensor either succeeds or throws
/// <see cref="InvalidCheckpointException"/> (UnsafePickleException included); never another exception, never a hang.</summary>
public sealed class PyTorchFuzzTests
{
    private static readonly string[] Seeds =
    [
        "torch/shared_storage_zip.pt", "torch/shared_storage_legacy.pt", "torch/nested_metadata.pt",
        "torch/nested_metadata_nofloat_legacy.pth", "torch/tied_weights.pt", "torch/dtypes_zip.pt", "torch/dtypes_legacy.pt",
        "torch/checkpoint_protocol4.pt", "torch/malicious/stack_global_protocol4_zip.pt",
    ];

    /// <summary>Number of mutated files per run (recorded in docs/formats-pytorch.md).</summary>
    public const int Cases = 2000;

    [Fact]
    public void OpenAndRead_MutatedRealFiles_SucceedOrThrowInvalidCheckpoint()
    {
        var originals = Seeds.Select(s => File.ReadAllBytes(SharedData.Require(s))).ToArray();
        string folder = SharedData.TempFolder();
        int opened = 0, refused = 0;

        // A case: which file, how many mutations, and a seed for where and what. Most mutations land in the first
        // 2 KiB, where the pickles, headers and persistent ids of these files live; some anywhere; some truncate.
        var gen = Gen.Select(Gen.Int[0, originals.Length - 1], Gen.Int[1, 6], Gen.Int);
        gen.Sample((fileIndex, mutations, seed) =>
        {
            byte[] bytes = Mutate(originals[fileIndex], mutations, seed);
            string path = Path.Combine(folder, $"case-{fileIndex}-{mutations}-{seed}.pt");
            File.WriteAllBytes(path, bytes);
            try
            {
                using var store = PyTorchReader.Open(path);
                foreach (var t in store.Tensors)
                {
                    using var buffer = store.Read(t.Name);
                    Assert.Equal(t.ByteCount, buffer.ByteCount);
                    if (buffer.ByteCount <= 1 << 20) _ = buffer.Bytes.ToArray();
                }
                _ = store.ParameterCount + store.ByteCount;
                Interlocked.Increment(ref opened);
            }
            catch (InvalidCheckpointException ex)
            {
                Assert.Contains(path, ex.Message);
                Interlocked.Increment(ref refused);
            }
            finally
            {
                File.Delete(path);
            }
        }, iter: Cases, threads: 1);

        Assert.Equal(Cases, opened + refused);
        // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
        Assert.InRange(opened, 1, Cases - 1);
        Assert.InRange(refused, 1, Cases - 1);
    }

    private static byte[] Mutate(byte[] original, int mutations, int seed)
    {
        var random = new Random(seed);
        byte[] bytes = (byte[])original.Clone();
        for (int i = 0; i < mutations; i++)
        {
            int limit = random.Next(4) == 0 ? bytes.Length : Math.Min(bytes.Length, 2048);
            int at = random.Next(limit);
            switch (random.Next(4))
            {
                case 0: bytes[at] = (byte)random.Next(256); break;
                case 1: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: bytes[at] = (byte)(bytes[at] + (random.Next(2) == 0 ? 1 : -1)); break;
                default: bytes[at] = random.Next(2) == 0 ? (byte)0xFF : (byte)0; break;
            }
        }
        if (random.Next(10) == 0) bytes = bytes[..random.Next(bytes.Length)];
        return bytes;
    }
}
