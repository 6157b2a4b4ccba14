using System.Diagnostics;
using System.Globalization;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 16's speed target: dequantising a Q4_K_M-sized tensor set (Q4_K blocks with a share of Q6_K, as
/// llama-quantize's Q4_K_M mix) to float32 runs at ≥ 0.5× the memory-bandwidth bound, the bound being a plain copy
/// (<see cref="Span{T}.CopyTo"/>) moving bytes through the same buffers in the same run. Both sides read the same
/// quantised input and write into the same ring of float32 output (larger than the caches, so writes reach memory);
/// throughput counts bytes read + bytes written. Rounds alternate baseline and candidate; medians are reported.
/// Single-threaded on both sides, as TensorBuffer.CopyTo is per tensor.
/// </summary>
internal static class DequantBenchmark
{
    private const int ChunkBlocks = 4096;           // 4096 Q4_K blocks = 576 KiB in, 4 MiB out per call
    private const long OutputRingBytes = 256L << 20;

    public static int Run(string[] args)
    {
        double sizeGb = double.Parse(Option(args, "--size-gb") ?? "1", CultureInfo.InvariantCulture);
        int rounds = int.Parse(Option(args, "--rounds") ?? "5", CultureInfo.InvariantCulture);
        double q6Share = 0.2;   // share of bytes in Q6_K (attn_v, ffn_down of half the layers, output)

        long totalBytes = (long)(sizeGb * 1e9);
        var q4 = MakeBlocks(DType.Q4_K, (long)(totalBytes * (1 - q6Share)), seed: 1);
        var q6 = MakeBlocks(DType.Q6_K, (long)(totalBytes * q6Share), seed: 2);
        var ring = new float[OutputRingBytes / sizeof(float)];
        long inBytes = q4.Sum(c => (long)c.Length) + q6.Sum(c => (long)c.Length);
        long outBytes = (Elements(q4, DType.Q4_K) + Elements(q6, DType.Q6_K)) * sizeof(float);

        Dequantise(q4, q6, ring);   // JIT and page in
        Copy(q4, q6, ring, outBytes);
        var baseline = new List<double>();
        var candidate = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            baseline.Add(Time(() => Copy(q4, q6, ring, outBytes)));
            candidate.Add(Time(() => Dequantise(q4, q6, ring)));
        }
        double copyS = Median(baseline), deqS = Median(candidate);
        double moved = inBytes + outBytes;
        Console.WriteLine($"""
            ### GGUF dequantisation vs memory bandwidth ({DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, `dotnet run -c Release --project tools/WeightSpace.Benchmarks -- dequant --size-gb {sizeGb.ToString(CultureInfo.InvariantCulture)}`)
            | measure | value |
            |---|---|
            | input | {inBytes / 1e9:F3} GB of blocks ({(1 - q6Share) * 100:F0}% Q4_K, {q6Share * 100:F0}% Q6_K by bytes), {outBytes / 4 / 1e9:F3} G weights |
            | bytes moved per pass (read + float32 written) | {moved / 1e9:F2} GB |
            | plain copy of the same bytes (median of {rounds}) | {copyS:F3} s = {moved / copyS / 1e9:F2} GB/s |
            | dequantise to float32 (median of {rounds}) | {deqS:F3} s = {moved / deqS / 1e9:F2} GB/s, {outBytes / 4 / deqS / 1e9:F2} G weights/s |
            | **dequant / bandwidth bound** (target ≥ 0.5) | **{copyS / deqS:F2}** |
            """);
        return 0;
    }

    private static void Dequantise(List<byte[]> q4, List<byte[]> q6, float[] ring)
    {
        long at = 0;
        foreach (var (chunks, dtype) in new[] { (q4, DType.Q4_K), (q6, DType.Q6_K) })
        {
            foreach (var chunk in chunks)
            {
                int n = chunk.Length / dtype.BytesPerBlock() * dtype.BlockElementCount();
                if (at + n > ring.Length) at = 0;
                DTypeConversion.ToSingle(chunk, dtype, ring.AsSpan((int)at, n));
                at += n;
            }
        }
    }

    // The baseline moves the same bytes: each input chunk is read once (copied into the ring) and as many output
    // bytes as the dequantiser writes are written, by copying the chunk repeatedly into consecutive ring space.
    private static void Copy(List<byte[]> q4, List<byte[]> q6, float[] ring, long outBytes)
    {
        var target = System.Runtime.InteropServices.MemoryMarshal.AsBytes(ring.AsSpan());
        long at = 0, written = 0;
        long inBytes = q4.Sum(c => (long)c.Length) + q6.Sum(c => (long)c.Length);
        double expansion = (double)outBytes / inBytes;
        foreach (var chunk in q4.Concat(q6))
        {
            long toWrite = (long)(chunk.Length * expansion);
            for (long done = 0; done < toWrite; done += chunk.Length)
            {
                int n = (int)Math.Min(chunk.Length, toWrite - done);
                if (at + n > target.Length) at = 0;
                chunk.AsSpan(0, n).CopyTo(target.Slice((int)at, n));
                at += n;
                written += n;
            }
        }
        if (written == 0) throw new InvalidOperationException("nothing copied");
    }

    private static List<byte[]> MakeBlocks(DType dtype, long bytes, int seed)
    {
        var rng = new Random(seed);
        int perBlock = dtype.BytesPerBlock();
        long blocks = bytes / perBlock;
        var chunks = new List<byte[]>();
        for (long b = 0; b < blocks; b += ChunkBlocks)
        {
            int n = (int)Math.Min(ChunkBlocks, blocks - b);
            var chunk = new byte[n * perBlock];
            rng.NextBytes(chunk);
            for (int i = 0; i < n; i++)
            {
                // Scales as llama-quantize writes them: small normal f16 values (no NaN, no subnormals).
                foreach (int offset in dtype == DType.Q4_K ? new[] { 0, 2 } : [208])
                    BitConverter.TryWriteBytes(chunk.AsSpan(i * perBlock + offset, 2), BitConverter.HalfToUInt16Bits((Half)(0.001 + 0.01 * rng.NextDouble())));
            }
            chunks.Add(chunk);
        }
        return chunks;
    }

    private static long Elements(List<byte[]> chunks, DType dtype) => chunks.Sum(c => (long)c.Length) / dtype.BytesPerBlock() * dtype.BlockElementCount();

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
