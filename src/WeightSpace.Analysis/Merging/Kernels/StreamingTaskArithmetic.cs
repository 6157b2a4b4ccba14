using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>How the streaming kernel trims one model's task vector.</summary>
internal enum TrimKind
{
    /// <summary>Every entry is kept.</summary>
    KeepAll,
    /// <summary>Every entry is dropped.</summary>
    DropAll,
    /// <summary>The <see cref="TrimRule.Count"/> largest |τ| are kept; ties at the threshold: the first in index order win.</summary>
    TopK,
    /// <summary>Entries whose magnitude key is at least <see cref="TrimRule.Key"/> are kept (a model-wide threshold).</summary>
    AtLeast,
}

/// <summary>One model's trim in <see cref="StreamingTaskArithmetic"/>.</summary>
internal readonly record struct TrimRule(TrimKind Kind, long Count = 0, uint Key = 0)
{
    public static TrimRule All => new(TrimKind.KeepAll);
}

/// <summary>Generalized task arithmetic (τᵢ = θᵢ − θ₀, magnitude trim, optional TIES sign election, weighted sum, add to
/// θ₀) streamed over read-only inputs, bit for bit equal to trimming each τᵢ in place and then combining
/// (<see cref="MagnitudeSelection.KeepTopK"/> followed by the element-wise combination).</summary>
/// <remarks>
/// Why: trimming in place needs a float copy of every input, τ written back, two histogram passes and a mask pass per
/// model before the election reads everything again — about eleven passes over memory per model where plain I/O makes
/// one. Here the inputs are read straight from the mapped file, at most twice:
/// <list type="number">
/// <item>A stratified sample of |τᵢ| brackets each top-k threshold in a band [lo, hi], ±4σ of the sample quantile
/// (about 1.6% of the entries for 2^16 samples at density ½).</item>
/// <item>Pass 1 reads all inputs once, counts the entries above hi and collects the (magnitude, index) of those inside
/// the band; the exact threshold and the last kept tie follow from the few collected entries.</item>
/// <item>Pass 2 reads all inputs again and writes each output with the exact keep decisions, a vector at a time.</item>
/// </list>
/// Pass 1 is skipped when no model needs a top-k (linear, task arithmetic, density 1, model-wide thresholds). If a band misses
/// its threshold (the counts say so), or holds far more entries than sampled (a chunk collects more than 1/16 of its
/// entries), that model's threshold is found exactly by histogram passes: slower, never wrong, and the band lists stay
/// below 1/16 of the tensor's entries per model. A band of one key (heavy ties: τ ≡ 0 in a layer the fine-tune left
/// alone, the few distinct |τ| of BF16 weights) is counted instead of collected.
/// </remarks>
internal sealed unsafe class StreamingTaskArithmetic
{
    /// <summary>Elements per chunk: the unit of the parallel passes and of each output block.</summary>
    internal const int ChunkLength = 1 << 18;
    private const int MagnitudeMask = 0x7FFF_FFFF;

    /// <summary>How the trimmed task vectors are combined (TIES election or weighted sum).</summary>
    public required TaskVectorCombination Combination { get; init; }

    /// <summary>Sample size for the threshold bands (tests lower it to force misses).</summary>
    public int SampleSize { get; init; } = 1 << 16;

    /// <summary>Half-width of each band in standard deviations of the sample quantile.</summary>
    public double BandSigmas { get; init; } = 4;

    /// <summary>Merges <paramref name="length"/> elements: <paramref name="destination"/>[j] from θ₀[j] and every θᵢ[j].</summary>
    /// <param name="baseValues">θ₀ (float*, read only), or 0 for θ₀ = 0 (a method without a base; no top-k then).</param>
    /// <param name="models">θᵢ (float*, read only), one per rule.</param>
    /// <param name="length">Elements.</param>
    /// <param name="rules">Each model's trim.</param>
    /// <param name="destination">The output (float*).</param>
    /// <returns>What the merge took (the kernel keeps no state between merges, so one instance serves many threads).</returns>
    public StreamingMergeResult Merge(nint baseValues, nint[] models, int length, TrimRule[] rules, nint destination) =>
        Merge(StreamInput.Single(baseValues), models.Select(StreamInput.Single).ToArray(), length, rules, destination, null);

    /// <summary>As the pointer overload, for inputs in any floating dtype (non-F32 ones are converted a chunk at a time).</summary>
    public StreamingMergeResult Merge(StreamInput baseValues, StreamInput[] models, int length, TrimRule[] rules, nint destination) =>
        Merge(baseValues, models, length, rules, destination, null);

    /// <summary>As the other overload, but each finished block of the output goes to <paramref name="output"/> (called
    /// from several threads at once, each block once, in no particular order) instead of one output buffer.</summary>
    public StreamingMergeResult Merge(StreamInput baseValues, StreamInput[] models, int length, TrimRule[] rules, OutputBlock output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Merge(baseValues, models, length, rules, 0, output);
    }

    /// <summary>Receives elements <c>[start, start + values.Length)</c> of the output; <paramref name="values"/> is valid only during the call.</summary>
    public delegate void OutputBlock(int start, ReadOnlySpan<float> values);

    private StreamingMergeResult Merge(StreamInput baseValues, StreamInput[] models, int length, TrimRule[] rules, nint destination, OutputBlock? output)
    {
        if (models.Length != rules.Length || models.Length != Combination.Weights.Length) throw new ArgumentException("One rule and one weight per model.");
        int m = models.Length;
        var decisions = new Decision[m];
        var topK = new List<int>();
        for (int i = 0; i < m; i++)
        {
            decisions[i] = rules[i].Kind switch
            {
                TrimKind.KeepAll => new Decision(-1, -1),
                TrimKind.AtLeast => new Decision((int)rules[i].Key - 1, -1),
                TrimKind.DropAll => new Decision(int.MaxValue, -1),
                _ => default,
            };
            if (rules[i].Kind == TrimKind.TopK) topK.Add(i);
        }
        if (baseValues.Pointer == 0 && topK.Count > 0) throw new ArgumentException("A top-k trim needs θ₀.", nameof(baseValues));
        using var scratch = new ChunkScratch(ChunkLength, m + 1);
        // All-BF16 inputs (the usual large checkpoint) are widened inside the passes' loads: no scratch copy per chunk.
        bool bfloat16 = AllBFloat16(baseValues, models);
        var pointers = models.Select(x => x.Pointer).ToArray();
        int bandMisses = topK.Count > 0 ? FindThresholds(baseValues, models, length, rules, topK.ToArray(), decisions, scratch) : 0;
        int chunks = (length + ChunkLength - 1) / ChunkLength;
        // Last chunk first, each worker taking the next from a shared counter: the end of the tensor, read last by the
        // threshold pass, is the part most likely still in the last-level cache.
        int next = chunks;
        Parallel.For(0, chunks, _ =>
        {
            int c = Interlocked.Decrement(ref next);
            int start = c * ChunkLength, end = Math.Min(length, start + ChunkLength);
            var (converted, b, x) = bfloat16 ? ((nint)0, baseValues.Pointer, pointers) : scratch.View(baseValues, models, start, end, null);
            try
            {
                if (output is null)
                {
                    Combine(bfloat16, b, x, decisions, (float*)destination, start, end);
                    return;
                }
                var block = ArrayPool<float>.Shared.Rent(end - start);
                try
                {
                    fixed (float* p = block) Combine(bfloat16, b, x, decisions, p - start, start, end);
                    output(start, block.AsSpan(0, end - start));
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(block);
                }
            }
            finally
            {
                scratch.Return(converted);
            }
        });
        return new StreamingMergeResult(bandMisses);
    }

    private static bool AllBFloat16(StreamInput baseValues, StreamInput[] models) =>
        (baseValues.Pointer == 0 || baseValues.DType == DType.BF16) && models.All(x => x.DType == DType.BF16);

    /// <summary>Keep iff key &gt; T, or key = T at an index ≤ LastTie.</summary>
    private readonly record struct Decision(int T, int LastTie);

    /// <summary>Keep iff key &gt; Hi; collected iff Lo ≤ key ≤ Hi.</summary>
    private readonly record struct Band(int Lo, int Hi);

    // Returns how many models' bands missed (their thresholds then came from the exact fallback).
    private int FindThresholds(StreamInput baseValues, StreamInput[] models, int n, TrimRule[] rules, int[] topK, Decision[] decisions, ChunkScratch scratch)
    {
        bool bfloat16 = AllBFloat16(baseValues, models);
        var pointers = models.Select(x => x.Pointer).ToArray();
        var bands = EstimateBands(baseValues, models, n, rules, topK);
        var needed = new bool[models.Length];
        foreach (int t in topK) needed[t] = true;
        int chunks = (n + ChunkLength - 1) / ChunkLength;
        var collected = new Collected[chunks];
        try
        {
            Parallel.For(0, chunks, c =>
            {
                int start = c * ChunkLength, end = Math.Min(n, start + ChunkLength);
                collected[c] = new Collected(topK.Length);
                if (bfloat16)
                {
                    Collect<BFloat16Load>(baseValues.Pointer, pointers, topK, bands, start, end, collected[c]);
                    return;
                }
                var (converted, b, x) = scratch.View(baseValues, models, start, end, needed);
                try { Collect<SingleLoad>(b, x, topK, bands, start, end, collected[c]); }
                finally { scratch.Return(converted); }
            });
            int misses = 0;
            Parallel.For(0, topK.Length, t =>
            {
                int model = topK[t];
                if (bands[t].Lo == bands[t].Hi
                    ? TryDecideSingleKey(rules[model].Count, t, bands[t].Lo, collected, (c, nth) => NthTie(baseValues, models[model], c, n, bands[t].Lo, nth, scratch), out var decision)
                    : TryDecide(rules[model].Count, t, collected, out decision))
                    decisions[model] = decision;
                else
                {
                    Interlocked.Increment(ref misses);
                    decisions[model] = ExactDecision(baseValues, models[model], n, rules[model].Count);
                }
            });
            return misses;
        }
        finally
        {
            foreach (var c in collected) c?.Dispose();
        }
    }

    private Band[] EstimateBands(StreamInput baseValues, StreamInput[] models, int n, TrimRule[] rules, int[] topK)
    {
        var bands = new Band[topK.Length];
        int s = Math.Min(SampleSize, n / 4);
        if (s < 16)
        {
            Array.Fill(bands, new Band(0, int.MaxValue));   // tiny tensor: collect everything
            return bands;
        }
        // One position per stratum of n/s elements, at a hashed offset inside it: no alignment with rows or columns.
        var positions = ArrayPool<int>.Shared.Rent(s);
        for (int c = 0; c < s; c++)
        {
            long from = (long)c * n / s, to = (long)(c + 1) * n / s;
            ulong h = (ulong)(c + 1) * 0x9E37_79B9_7F4A_7C15UL;
            h ^= h >> 29;
            positions[c] = (int)(from + (long)(h % (ulong)(to - from)));
        }
        // θ₀ is read once per position for all models; the positions are split between the workers.
        var keys = new int[topK.Length][];
        for (int t = 0; t < topK.Length; t++) keys[t] = ArrayPool<int>.Shared.Rent(s);
        const int slice = 1 << 12;
        Parallel.For(0, (s + slice - 1) / slice, part =>
        {
            for (int c = part * slice, end = Math.Min(s, c + slice); c < end; c++)
            {
                int j = positions[c];
                float theta0 = baseValues.Read(j);
                for (int t = 0; t < topK.Length; t++)
                    keys[t][c] = BitConverter.SingleToInt32Bits(models[topK[t]].Read(j) - theta0) & MagnitudeMask;
            }
        });
        for (int t = 0; t < topK.Length; t++)
        {
            // The k-th largest has n − k smaller entries; bracket that quantile of the sample. Keys are non-negative
            // float bit patterns, so the (s − r)-th largest of them as floats is the r-th smallest (0-based) key.
            double p = (double)(n - rules[topK[t]].Count) / n;
            double margin = BandSigmas * Math.Sqrt(p * (1 - p) * s) + 2;
            double q = p * s;
            double loIndex = Math.Floor(q - margin), hiIndex = Math.Ceiling(q + margin);
            int lo = loIndex <= 0 ? 0 : loIndex >= s ? int.MaxValue : Smallest(keys[t].AsSpan(0, s), (int)loIndex);
            int hi = hiIndex >= s ? int.MaxValue : hiIndex < 0 ? -1 : Smallest(keys[t].AsSpan(0, s), (int)hiIndex);
            bands[t] = new Band(lo, hi);
        }
        ArrayPool<int>.Shared.Return(positions);
        foreach (var k in keys) ArrayPool<int>.Shared.Return(k);
        return bands;
    }

    /// <summary>The r-th smallest (0-based) of non-negative float bit patterns, as the (count − r)-th largest float.</summary>
    private static int Smallest(ReadOnlySpan<int> keys, int r) =>
        (int)MagnitudeSelection.Key(MagnitudeSelection.KthLargest(MemoryMarshal.Cast<int, float>(keys), keys.Length - r).Threshold);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // hot loops: skip tier 0, which a one-merge process would run for its first tensors
    private static void Collect<TLoad>(nint baseValues, nint[] models, int[] topK, Band[] bands, int start, int end, Collected result)
        where TLoad : struct, IElementLoad
    {
        // One model at a time over blocks small enough that θ₀'s block is still in L1/L2 for the next model: the loop
        // keeps its state in registers (a loop over all models at once spills them to the stack, ~1.5× slower).
        const int block = 1 << 13;
        int width = Vector<float>.Count;
        var above = new long[topK.Length];
        var equals = new long[topK.Length];
        var magnitude = new Vector<int>(MagnitudeMask);
        for (int from = start; from < end; from += block)
        {
            int to = Math.Min(end, from + block);
            for (int t = 0; t < topK.Length; t++)
            {
                var x = models[topK[t]];
                var list = result.Lists[t];
                // A band of one key (heavy ties, typical of BF16 task vectors) only needs counting: its threshold is that
                // key, and the last kept tie is found afterwards by scanning the one chunk that holds it.
                bool single = bands[t].Lo == bands[t].Hi;
                bool collect = !single && !list.Overflowed;
                var lo = new Vector<int>(bands[t].Lo);
                var hi = new Vector<int>(bands[t].Hi);
                var count = Vector<int>.Zero;
                var equal = Vector<int>.Zero;
                int j = from;
                for (; j <= to - width; j += width)
                {
                    var key = Vector.AsVectorInt32(TLoad.Load(x, j) - TLoad.Load(baseValues, j)) & magnitude;
                    var keep = Vector.GreaterThan(key, hi);
                    count -= keep;
                    var inBand = Vector.AndNot(Vector.GreaterThanOrEqual(key, lo), keep);
                    equal -= inBand;
                    if (inBand != Vector<int>.Zero && collect) list.AddLanes(key, inBand, j);
                }
                long n = Vector.Sum(count), e = Vector.Sum(equal);
                for (; j < to; j++)
                {
                    int key = BitConverter.SingleToInt32Bits(TLoad.LoadOne(x, j) - TLoad.LoadOne(baseValues, j)) & MagnitudeMask;
                    if (key > bands[t].Hi) n++;
                    else if (key >= bands[t].Lo)
                    {
                        e++;
                        if (collect) list.Add(key, j);
                    }
                }
                above[t] += n;
                if (single) equals[t] += e;
                // A band far denser than sampled (many equal |τ|, e.g. a layer the fine-tune left untouched) would collect
                // most of the tensor: stop at 1/16 of the chunk and let the exact fallback decide this model.
                if (collect && list.Count > (end - start) / 16) list.Overflow();
            }
        }
        above.CopyTo(result.Above, 0);
        equals.CopyTo(result.Equal, 0);
    }

    /// <summary>The exact decision from one model's counts and band entries; false if the band missed the threshold.</summary>
    private static bool TryDecide(long k, int t, Collected[] collected, out Decision decision)
    {
        decision = default;
        long above = 0, inBand = 0;
        foreach (var c in collected)
        {
            if (c.Lists[t].Overflowed) return false;
            above += c.Above[t];
            inBand += c.Lists[t].Count;
        }
        if (k <= above || k > above + inBand) return false;
        var keys = ArrayPool<int>.Shared.Rent((int)inBand);
        try
        {
            int filled = 0;
            foreach (var c in collected)
            {
                var list = c.Lists[t];
                list.Keys.CopyTo(keys.AsSpan(filled));
                filled += list.Count;
            }
            var (threshold, ties) = MagnitudeSelection.KthLargest(MemoryMarshal.Cast<int, float>(keys.AsSpan(0, filled)), k - above);
            int key = (int)MagnitudeSelection.Key(threshold);
            // Every entry equal to the threshold is a band entry, collected in index order: the ties-th of them is the last kept.
            long seen = 0;
            foreach (var c in collected)
            {
                var list = c.Lists[t];
                var rest = list.Keys;
                int offset = 0;
                for (int at; (at = rest.IndexOf(key)) >= 0; rest = rest[(at + 1)..], offset += at + 1)
                {
                    if (++seen == ties)
                    {
                        decision = new Decision(key, list.Indices[offset + at]);
                        return true;
                    }
                }
            }
            throw new InvalidOperationException("The threshold's ties were not among the band entries.");
        }
        finally
        {
            ArrayPool<int>.Shared.Return(keys);
        }
    }

    /// <summary>The decision for a single-key band: the threshold is that key if the counts bracket k; the last kept tie is
    /// the r-th entry with that key, found by scanning only the chunk whose running count reaches r.</summary>
    private static bool TryDecideSingleKey(long k, int t, int key, Collected[] collected, Func<int, long, int> nthTie, out Decision decision)
    {
        decision = default;
        long above = 0, equal = 0;
        foreach (var c in collected)
        {
            above += c.Above[t];
            equal += c.Equal[t];
        }
        if (k <= above || k > above + equal) return false;
        long ties = k - above, seen = 0;
        for (int c = 0; c < collected.Length; c++)
        {
            long here = collected[c].Equal[t];
            if (seen + here >= ties)
            {
                decision = new Decision(key, nthTie(c, ties - seen));
                return true;
            }
            seen += here;
        }
        throw new InvalidOperationException("The threshold's ties were not counted.");
    }

    /// <summary>Index of the <paramref name="nth"/> entry of chunk <paramref name="chunk"/> whose |τ| key is <paramref name="key"/>.</summary>
    private static int NthTie(StreamInput baseValues, StreamInput model, int chunk, int n, int key, long nth, ChunkScratch scratch)
    {
        int start = chunk * ChunkLength, end = Math.Min(n, start + ChunkLength);
        var (converted, b, x) = scratch.View(baseValues, [model], start, end, null);
        try
        {
            float* theta0 = (float*)b, theta = (float*)x[0];
            long seen = 0;
            for (int j = start; j < end; j++)
                if ((BitConverter.SingleToInt32Bits(theta[j] - theta0[j]) & MagnitudeMask) == key && ++seen == nth) return j;
            throw new InvalidOperationException("The chunk holds fewer ties than counted.");
        }
        finally
        {
            scratch.Return(converted);
        }
    }

    /// <summary>The exact decision by two histogram passes over τ and, when only some ties are kept, a scan for the last
    /// one (used only when a band missed).</summary>
    private static Decision ExactDecision(StreamInput baseValues, StreamInput model, int n, long k)
    {
        using var selection = new MagnitudeSelection();
        int chunk = Math.Min(n, 1 << 22);
        var tau = new float[chunk];
        var theta0 = new float[chunk];
        Span<float> Tau(int start)
        {
            int length = Math.Min(chunk, n - start);
            Load(model, start, tau.AsSpan(0, length));
            Load(baseValues, start, theta0.AsSpan(0, length));
            TensorPrimitives.Subtract(tau.AsSpan(0, length), theta0.AsSpan(0, length), tau.AsSpan(0, length));
            return tau.AsSpan(0, length);
        }
        static void Load(StreamInput input, int start, Span<float> into)
        {
            int size = input.DType.SizeInBytes();
            DTypeConversion.ToSingle(new ReadOnlySpan<byte>((byte*)input.Pointer + (long)start * size, into.Length * size), input.DType, into);
        }
        for (int start = 0; start < n; start += chunk) selection.AddHigh(Tau(start));
        selection.ChooseBin(k);
        for (int start = 0; start < n; start += chunk) selection.AddLow(Tau(start));
        var (threshold, ties) = selection.Finish();
        uint key = MagnitudeSelection.Key(threshold);
        long seen = 0;
        for (int start = 0; start < n; start += chunk)
        {
            var values = Tau(start);
            for (int e = 0; e < values.Length; e++)
                if (MagnitudeSelection.Key(values[e]) == key && ++seen == ties) return new Decision((int)key, start + e);
        }
        throw new InvalidOperationException("The threshold's ties were not found.");
    }

    private void Combine(bool bfloat16, nint baseValues, nint[] models, Decision[] decisions, float* destination, int start, int end)
    {
        if (bfloat16) Combine<BFloat16Load>(baseValues, models, decisions, destination, start, end);
        else Combine<SingleLoad>(baseValues, models, decisions, destination, start, end);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Combine<TLoad>(nint baseValues, nint[] models, Decision[] decisions, float* destination, int start, int end)
        where TLoad : struct, IElementLoad
    {
        int m = models.Length, width = Vector<float>.Count;
        var x = stackalloc nint[m];
        var threshold = stackalloc Vector<int>[m];
        var lastTie = stackalloc Vector<int>[m];
        var weights = stackalloc Vector<float>[m];
        var kept = stackalloc Vector<float>[m];
        for (int i = 0; i < m; i++)
        {
            x[i] = models[i];
            threshold[i] = new Vector<int>(decisions[i].T);
            lastTie[i] = new Vector<int>(decisions[i].LastTie);
        }
        Combination.Broadcast(weights);
        var magnitude = new Vector<int>(MagnitudeMask);
        var lanes = Vector<int>.Indices;
        bool hasBase = baseValues != 0;   // without one θ₀ = +0, and x − (+0) = x bit for bit (−0 and NaN included)
        int j = start;
        for (; j <= end - width; j += width)
        {
            var b = hasBase ? TLoad.Load(baseValues, j) : Vector<float>.Zero;
            var index = lanes + new Vector<int>(j);
            for (int i = 0; i < m; i++)
            {
                var t = Vector.AsVectorInt32(TLoad.Load(x[i], j) - b);
                var key = t & magnitude;
                var keep = Vector.GreaterThan(key, threshold[i]) | (Vector.Equals(key, threshold[i]) & Vector.LessThanOrEqual(index, lastTie[i]));
                kept[i] = Vector.AsVectorSingle(t & keep);
            }
            Combination.Apply(b, kept, weights, m).Store(destination + j);
        }
        var scalarKept = stackalloc float[m];
        for (; j < end; j++)
        {
            float b = hasBase ? TLoad.LoadOne(baseValues, j) : 0f;
            for (int i = 0; i < m; i++)
            {
                float t = TLoad.LoadOne(x[i], j) - b;
                int key = BitConverter.SingleToInt32Bits(t) & MagnitudeMask;
                bool keep = key > decisions[i].T || (key == decisions[i].T && j <= decisions[i].LastTie);
                scalarKept[i] = keep ? t : 0f;
            }
            destination[j] = Combination.Apply(b, scalarKept, m);
        }
    }

    /// <summary>One chunk's pass-1 results: per top-k model, the count above its band and the band entries in index order.</summary>
    private sealed class Collected : IDisposable
    {
        public readonly long[] Above;
        /// <summary>For a single-key band (lo = hi): how many entries have exactly that key (no entries are collected).</summary>
        public readonly long[] Equal;
        public readonly BandList[] Lists;

        public Collected(int models)
        {
            Above = new long[models];
            Equal = new long[models];
            Lists = new BandList[models];
            for (int i = 0; i < models; i++) Lists[i] = new BandList();
        }

        public void Dispose()
        {
            foreach (var l in Lists) l.Dispose();
        }
    }

    /// <summary>A growable (key, index) list in native memory, freed on dispose: the lists of every chunk are alive at
    /// once until the decision, too many for an array pool to recycle, and as managed arrays they were most of a merge's
    /// garbage (~36 MB per 128 MiB tensor, which the GC let pile up to its gen0 budget).</summary>
    private sealed unsafe class BandList : IDisposable
    {
        private int* _keys;
        private int* _indices;
        private int _capacity;

        public int Count;

        public ReadOnlySpan<int> Keys => new(_keys, Count);

        public ReadOnlySpan<int> Indices => new(_indices, Count);

        /// <summary>True once the list gave up collecting (too many entries): its model needs the exact fallback.</summary>
        public bool Overflowed { get; private set; }

        public void Overflow()
        {
            Dispose();
            Overflowed = true;
        }

        /// <summary>Appends the lanes of <paramref name="keys"/> selected by <paramref name="mask"/>, indices from <paramref name="first"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void AddLanes(Vector<int> keys, Vector<int> mask, int first)
        {
            if (Count + Vector<int>.Count > _capacity) Grow();
            // Few lanes are set (a band holds ~2% of entries): visit just those.
            for (uint bits = LaneBits(mask); bits != 0; bits &= bits - 1)
            {
                int lane = BitOperations.TrailingZeroCount(bits);
                _keys[Count] = keys[lane];
                _indices[Count] = first + lane;
                Count++;
            }
        }

        private static uint LaneBits(Vector<int> mask)
        {
            if (Vector<int>.Count == 8) return Vector256.ExtractMostSignificantBits(mask.AsVector256());
            uint bits = 0;
            for (int lane = 0; lane < Vector<int>.Count; lane++) bits |= (uint)(mask[lane] & 1) << lane;
            return bits;
        }

        public void Add(int key, int index)
        {
            if (Count == _capacity) Grow();
            _keys[Count] = key;
            _indices[Count] = index;
            Count++;
        }

        private void Grow()
        {
            int capacity = Math.Max(4096, _capacity * 2);
            _keys = (int*)NativeMemory.Realloc(_keys, (nuint)capacity * sizeof(int));
            _indices = (int*)NativeMemory.Realloc(_indices, (nuint)capacity * sizeof(int));
            _capacity = capacity;
        }

        public void Dispose()
        {
            NativeMemory.Free(_keys);
            NativeMemory.Free(_indices);
            _keys = null;
            _indices = null;
            _capacity = 0;
            Count = 0;
        }
    }
}
