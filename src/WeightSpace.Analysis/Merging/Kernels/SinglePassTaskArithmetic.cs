using System.Buffers;
using System.Numerics;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>How the single-pass kernel trims one model's task vector.</summary>
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

/// <summary>One model's trim in <see cref="SinglePassTaskArithmetic"/>.</summary>
internal readonly record struct TrimRule(TrimKind Kind, long Count = 0, uint Key = 0)
{
    public static TrimRule All => new(TrimKind.KeepAll);
}

/// <summary>Generalized task arithmetic (τᵢ = θᵢ − θ₀, magnitude trim, optional TIES sign election, weighted sum, add to
/// θ₀) computed in one streaming pass over read-only inputs, bit for bit equal to trimming each τᵢ in place and then
/// combining (<see cref="MagnitudeSelection.KeepTopK"/> followed by the element-wise combination).</summary>
/// <remarks>
/// Why: trimming in place needs a float copy of every input, τ written back, two histogram passes and a mask pass per
/// model before the election reads everything again — about eleven passes over memory per model where plain I/O makes
/// one. Here the inputs are read once, straight from the mapped file:
/// <list type="number">
/// <item>A stratified sample of |τᵢ| brackets each top-k threshold in a band [lo, hi] wide enough (±5σ of the sample
/// quantile) that it almost always holds the true threshold.</item>
/// <item>One pass computes every output. Entries above hi are certainly kept, below lo certainly dropped; an element
/// where some model's |τ| falls inside its band is computed provisionally and recorded (index, θ₀, τ of every model).</item>
/// <item>Counts above hi plus the recorded band entries give each exact threshold and its tie allowance; the recorded
/// elements (a few per cent) are recomputed with the exact decisions.</item>
/// </list>
/// If a band misses its threshold (the count check says so) that model's exact threshold is found by two histogram
/// passes and the pass is repeated: slower, never wrong.
/// </remarks>
internal sealed unsafe class SinglePassTaskArithmetic
{
    private const int ChunkLength = 1 << 18;
    private const int MagnitudeMask = 0x7FFF_FFFF;

    /// <summary>Combine with TIES sign election and disjoint mean (else a plain weighted sum).</summary>
    public required bool Consensus { get; init; }

    /// <summary>TIES votes on unweighted τ and a zero vote elects nothing (paper); else mergekit's weighted vote, zero → +.</summary>
    public bool PaperVote { get; init; }

    /// <summary>TIES: divide by the sum of the agreeing weights.</summary>
    public bool Normalize { get; init; }

    /// <summary>TIES: λ applied to the combined τ.</summary>
    public float Lambda { get; init; } = 1;

    /// <summary>Per-model weights (TIES) or final coefficients (plain sum: weight × scale).</summary>
    public required float[] Weights { get; init; }

    /// <summary>Sample size for the threshold bands (tests lower it to force misses).</summary>
    public int SampleSize { get; init; } = 1 << 16;

    /// <summary>Half-width of each band in standard deviations of the sample quantile.</summary>
    public double BandSigmas { get; init; } = 5;

    /// <summary>How many passes over the inputs the last <see cref="Merge"/> made (1 unless a band missed).</summary>
    public int PassesMade { get; private set; }

    /// <summary>Merges <paramref name="length"/> elements: <paramref name="destination"/>[j] from θ₀[j] and every θᵢ[j].</summary>
    /// <param name="baseValues">θ₀ (float*, read only).</param>
    /// <param name="models">θᵢ (float*, read only), one per rule.</param>
    /// <param name="length">Elements.</param>
    /// <param name="rules">Each model's trim.</param>
    /// <param name="destination">The output (float*).</param>
    public void Merge(nint baseValues, nint[] models, int length, TrimRule[] rules, nint destination)
    {
        if (models.Length != rules.Length || models.Length != Weights.Length) throw new ArgumentException("One rule and one weight per model.");
        int m = models.Length;
        var bands = new Band[m];
        for (int i = 0; i < m; i++) bands[i] = InitialBand(rules[i]);
        EstimateBands(baseValues, models, length, rules, bands);
        int chunks = Math.Max(1, (length + ChunkLength - 1) / ChunkLength);
        var results = new ChunkResult[chunks];
        try
        {
            PassesMade = 0;
            while (true)
            {
                PassesMade++;
                Parallel.For(0, chunks, c =>
                {
                    int start = c * ChunkLength, end = Math.Min(length, start + ChunkLength);
                    results[c]?.Dispose();
                    results[c] = new ChunkResult(m);
                    Pass((float*)baseValues, models, bands, (float*)destination, start, end, results[c]);
                });
                var finals = new Final[m];
                bool missed = false;
                for (int i = 0; i < m; i++)
                {
                    if (TryFinish(rules[i], bands[i], i, results, out finals[i])) continue;
                    missed = true;
                    int threshold = ExactThreshold(baseValues, models[i], length, rules[i].Count);
                    bands[i] = new Band(threshold, threshold);
                }
                if (missed) continue;
                Parallel.For(0, chunks, c => Fixup(results[c], finals, (float*)destination));
                return;
            }
        }
        finally
        {
            foreach (var r in results) r?.Dispose();
        }
    }

    /// <summary>Keep iff key &gt; Hi; undetermined iff Lo ≤ key ≤ Hi (nothing when Lo &gt; Hi).</summary>
    private readonly record struct Band(int Lo, int Hi);

    /// <summary>Exact decision for an undetermined entry: keep iff key &gt; T, or key = T at an index ≤ LastTie.</summary>
    private readonly record struct Final(TrimKind Kind, int Hi, int T, long LastTie);

    private static Band InitialBand(TrimRule rule) => rule.Kind switch
    {
        TrimKind.KeepAll => new Band(int.MaxValue, -1),
        TrimKind.AtLeast => new Band(int.MaxValue, (int)rule.Key - 1),
        TrimKind.DropAll => new Band(int.MaxValue, int.MaxValue),
        _ => new Band(0, int.MaxValue),     // replaced by the estimate (or, for tiny tensors, everything is a band entry)
    };

    private void EstimateBands(nint baseValues, nint[] models, int n, TrimRule[] rules, Band[] bands)
    {
        int s = Math.Min(SampleSize, n / 4);
        if (s < 16) return;
        var b = (float*)baseValues;
        // One position per stratum of n/s elements, at a hashed offset inside it: no alignment with rows or columns.
        var positions = new int[s];
        for (int c = 0; c < s; c++)
        {
            long from = (long)c * n / s, to = (long)(c + 1) * n / s;
            ulong h = (ulong)c * 0x9E37_79B9_7F4A_7C15UL;
            h ^= h >> 29;
            positions[c] = (int)(from + (long)(h % (ulong)(to - from)));
        }
        Parallel.For(0, models.Length, i =>
        {
            if (rules[i].Kind != TrimKind.TopK) return;
            var x = (float*)models[i];
            var keys = new int[s];
            for (int c = 0; c < s; c++)
            {
                int j = positions[c];
                keys[c] = BitConverter.SingleToInt32Bits(x[j] - b[j]) & MagnitudeMask;
            }
            Array.Sort(keys);
            // The k-th largest has n − k smaller entries; bracket that quantile of the sample.
            double p = (double)(n - rules[i].Count) / n;
            double margin = BandSigmas * Math.Sqrt(p * (1 - p) * s) + 2;
            double q = p * s;
            double loIndex = Math.Floor(q - margin), hiIndex = Math.Ceiling(q + margin);
            int lo = loIndex <= 0 ? 0 : loIndex >= s ? int.MaxValue : keys[(int)loIndex];
            int hi = hiIndex >= s ? int.MaxValue : hiIndex < 0 ? -1 : keys[(int)hiIndex];
            bands[i] = new Band(lo, hi);
        });
    }

    private void Pass(float* baseValues, nint[] models, Band[] bands, float* destination, int start, int end, ChunkResult result)
    {
        int m = models.Length, width = Vector<float>.Count;
        var x = stackalloc float*[m];
        var lo = stackalloc Vector<int>[m];
        var hi = stackalloc Vector<int>[m];
        var weights = stackalloc Vector<float>[m];
        var kept = stackalloc Vector<float>[m];
        // Per-lane counts of certainly kept entries; a chunk has at most 2^18 / width entries per lane, so ints suffice.
        var aboveCounts = stackalloc Vector<int>[m];
        for (int i = 0; i < m; i++)
        {
            x[i] = (float*)models[i];
            lo[i] = new Vector<int>(bands[i].Lo);
            hi[i] = new Vector<int>(bands[i].Hi);
            weights[i] = new Vector<float>(Weights[i]);
            aboveCounts[i] = Vector<int>.Zero;
        }
        var magnitude = new Vector<int>(MagnitudeMask);
        int j = start;
        for (; j <= end - width; j += width)
        {
            var b = Vector.Load(baseValues + j);
            var undetermined = Vector<int>.Zero;
            for (int i = 0; i < m; i++)
            {
                var t = Vector.AsVectorInt32(Vector.Load(x[i] + j) - b);
                var key = t & magnitude;
                var keep = Vector.GreaterThan(key, hi[i]);
                undetermined |= Vector.AndNot(Vector.GreaterThanOrEqual(key, lo[i]), keep);
                aboveCounts[i] -= keep;
                kept[i] = Vector.AsVectorSingle(t & keep);
            }
            Combine(b, kept, weights, m).Store(destination + j);
            if (undetermined != Vector<int>.Zero)
                for (int lane = 0; lane < width; lane++)
                    if (undetermined[lane] != 0) result.Add(j + lane, baseValues, x, m);
        }
        for (int i = 0; i < m; i++) result.Above[i] = Vector.Sum(aboveCounts[i]);
        var scalarKept = stackalloc float[m];
        for (; j < end; j++)
        {
            float b = baseValues[j];
            bool undetermined = false;
            for (int i = 0; i < m; i++)
            {
                float t = x[i][j] - b;
                int key = BitConverter.SingleToInt32Bits(t) & MagnitudeMask;
                bool keep = key > bands[i].Hi;
                undetermined |= !keep && key >= bands[i].Lo;
                if (keep) result.Above[i]++;
                scalarKept[i] = keep ? t : 0f;
            }
            destination[j] = CombineScalar(b, scalarKept, m);
            if (undetermined) result.Add(j, baseValues, x, m);
        }
    }

    /// <summary>The element-wise combination, a vector at a time; <see cref="CombineScalar"/> is the same per lane.</summary>
    private Vector<float> Combine(Vector<float> b, Vector<float>* kept, Vector<float>* weights, int m)
    {
        if (!Consensus)
        {
            var r = b;
            for (int i = 0; i < m; i++) r = kept[i] * weights[i] + r;
            return r;
        }
        // TIES (Yadav et al. 2023, §3 steps 2–3): elect a sign per entry, then average the agreeing entries.
        var one = Vector<float>.One;
        var zero = Vector<float>.Zero;
        var vote = zero;
        for (int i = 0; i < m; i++) vote += PaperVote ? kept[i] : kept[i] * weights[i];
        var elected = PaperVote
            ? Vector.ConditionalSelect(Vector.GreaterThan(vote, zero), one, Vector.ConditionalSelect(Vector.LessThan(vote, zero), -one, zero))
            : Vector.ConditionalSelect(Vector.LessThan(vote, zero), -one, one);
        var sum = zero;
        var weightSum = zero;
        for (int i = 0; i < m; i++)
        {
            var t = kept[i];
            var w = weights[i];
            var voted = PaperVote ? t : t * w;
            var agree = Vector.GreaterThan(voted * elected, zero);
            sum += Vector.ConditionalSelect(agree, t * w, zero);
            weightSum += Vector.ConditionalSelect(agree, w, zero);
        }
        weightSum = Vector.ConditionalSelect(Vector.Equals(weightSum, zero), one, weightSum);
        var mixed = Normalize ? sum / weightSum : sum;
        return b + mixed * new Vector<float>(Lambda);
    }

    private float CombineScalar(float b, float* kept, int m)
    {
        if (!Consensus)
        {
            float r = b;
            for (int i = 0; i < m; i++) r = kept[i] * Weights[i] + r;
            return r;
        }
        float vote = 0;
        for (int i = 0; i < m; i++) vote += PaperVote ? kept[i] : kept[i] * Weights[i];
        float elected = PaperVote ? (vote > 0 ? 1f : vote < 0 ? -1f : 0f) : (vote < 0 ? -1f : 1f);
        float sum = 0, weightSum = 0;
        for (int i = 0; i < m; i++)
        {
            float t = kept[i], w = Weights[i], voted = PaperVote ? t : t * w;
            bool agree = voted * elected > 0;
            sum += agree ? t * w : 0f;
            weightSum += agree ? w : 0f;
        }
        if (weightSum == 0) weightSum = 1;
        float mixed = Normalize ? sum / weightSum : sum;
        return b + mixed * Lambda;
    }

    /// <summary>Turns one model's pass counts and band entries into its exact decision; false if the band missed.</summary>
    private static bool TryFinish(TrimRule rule, Band band, int model, ChunkResult[] results, out Final final)
    {
        final = new Final(rule.Kind, band.Hi, 0, -1);
        if (rule.Kind != TrimKind.TopK) return true;
        long above = 0, inBand = 0;
        foreach (var r in results)
        {
            above += r.Above[model];
            for (int e = 0; e < r.Count; e++)
            {
                int key = r.Key(e, model);
                if (key >= band.Lo && key <= band.Hi) inBand++;
            }
        }
        long k = rule.Count;
        if (k <= above || k > above + inBand) return false;
        var keys = ArrayPool<float>.Shared.Rent((int)inBand);
        try
        {
            int filled = 0;
            foreach (var r in results)
                for (int e = 0; e < r.Count; e++)
                {
                    int key = r.Key(e, model);
                    if (key >= band.Lo && key <= band.Hi) keys[filled++] = BitConverter.Int32BitsToSingle(key);
                }
            var (threshold, ties) = MagnitudeSelection.KthLargest(keys.AsSpan(0, filled), k - above);
            int t = (int)MagnitudeSelection.Key(threshold);
            // Every entry equal to the threshold is a band entry, recorded in index order: the ties-th of them is the last kept.
            long lastTie = -1, seen = 0;
            foreach (var r in results)
            {
                for (int e = 0; e < r.Count && lastTie < 0; e++)
                    if (r.Key(e, model) == t && ++seen == ties) lastTie = r.Index[e];
                if (lastTie >= 0) break;
            }
            final = new Final(TrimKind.TopK, band.Hi, t, lastTie);
            return true;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(keys);
        }
    }

    private static bool Keep(in Final f, int key, long index) =>
        f.Kind == TrimKind.TopK ? key > f.T || (key == f.T && index <= f.LastTie) : key > f.Hi;

    private void Fixup(ChunkResult result, Final[] finals, float* destination)
    {
        int m = finals.Length;
        var kept = stackalloc float[m];
        for (int e = 0; e < result.Count; e++)
        {
            var values = result.Values.AsSpan(e * (m + 1), m + 1);
            int index = result.Index[e];
            for (int i = 0; i < m; i++)
            {
                float t = values[1 + i];
                kept[i] = Keep(finals[i], BitConverter.SingleToInt32Bits(t) & MagnitudeMask, index) ? t : 0f;
            }
            destination[index] = CombineScalar(values[0], kept, m);
        }
    }

    /// <summary>Exact k-th largest |θᵢ − θ₀| by two histogram passes (used only when a band missed).</summary>
    private static int ExactThreshold(nint baseValues, nint model, int n, long k)
    {
        var selection = new MagnitudeSelection();
        int chunk = Math.Min(n, 1 << 22);
        var tau = new float[chunk];
        for (int pass = 0; pass < 2; pass++)
        {
            for (int start = 0; start < n; start += chunk)
            {
                int length = Math.Min(chunk, n - start);
                System.Numerics.Tensors.TensorPrimitives.Subtract(
                    new ReadOnlySpan<float>((float*)model + start, length), new ReadOnlySpan<float>((float*)baseValues + start, length), tau.AsSpan(0, length));
                if (pass == 0) selection.AddHigh(tau.AsSpan(0, length));
                else selection.AddLow(tau.AsSpan(0, length));
            }
            if (pass == 0) selection.ChooseBin(k);
        }
        return (int)MagnitudeSelection.Key(selection.Finish().Threshold);
    }

    /// <summary>One chunk's certainly-kept counts and its recorded elements (index, θ₀, τ of every model), in index order.</summary>
    private sealed class ChunkResult(int models) : IDisposable
    {
        public readonly long[] Above = new long[models];
        public int Count;
        public int[] Index = [];
        public float[] Values = [];

        public int Key(int entry, int model) => BitConverter.SingleToInt32Bits(Values[entry * (models + 1) + 1 + model]) & MagnitudeMask;

        public void Add(int j, float* baseValues, float** x, int m)
        {
            if (Count == Index.Length)
            {
                int capacity = Math.Max(1024, Count * 2);
                var index = ArrayPool<int>.Shared.Rent(capacity);
                var values = ArrayPool<float>.Shared.Rent(capacity * (m + 1));
                Index.AsSpan(0, Count).CopyTo(index);
                Values.AsSpan(0, Count * (m + 1)).CopyTo(values);
                Release();
                Index = index;
                Values = values;
            }
            Index[Count] = j;
            int at = Count * (m + 1);
            float b = baseValues[j];
            Values[at] = b;
            for (int i = 0; i < m; i++) Values[at + 1 + i] = x[i][j] - b;
            Count++;
        }

        private void Release()
        {
            if (Index.Length > 0) ArrayPool<int>.Shared.Return(Index);
            if (Values.Length > 0) ArrayPool<float>.Shared.Return(Values);
        }

        public void Dispose()
        {
            Release();
            Index = [];
            Values = [];
            Count = 0;
        }
    }
}
