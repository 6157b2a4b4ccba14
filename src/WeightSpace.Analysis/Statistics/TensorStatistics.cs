using System.Buffers;
using System.Numerics;

namespace WeightSpace.Analysis.Statistics;

/// <summary>Summary statistics of one tensor, accumulated in float64.</summary>
/// <remarks>
/// <see cref="Sum"/>, <see cref="Mean"/>, <see cref="Std"/> and <see cref="L2"/> follow IEEE semantics over all
/// elements: one NaN makes them NaN, an infinity makes them infinite (or NaN), so a bad tensor cannot look healthy.
/// <see cref="Min"/> and <see cref="Max"/> ignore NaN (they are NaN only when every element is). <see cref="Std"/>
/// is the population standard deviation (divisor n), computed from per-chunk shifted sums combined with Chan et al.'s
/// pairwise update, which avoids the cancellation of the one-pass Σx² − (Σx)²/n formula.
/// </remarks>
public sealed record TensorStatistics(
    long Count, double Sum, double Mean, double Std, double Min, double Max, double L2, long NaNCount, long InfinityCount)
{
    private const int ChunkElements = 1 << 14;

    /// <summary>Computes the statistics of <paramref name="tensor"/> in one streaming pass over its bytes.</summary>
    /// <param name="tensor">The tensor's bytes.</param>
    /// <param name="maxParallelism">Threads that scan disjoint ranges of the tensor at once (results are identical
    /// for every value up to float64 rounding of the combination).</param>
    public static TensorStatistics Compute(TensorBuffer tensor, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long n = tensor.Info.ElementCount;
        long chunks = (n + ChunkElements - 1) / ChunkElements;
        int parts = (int)Math.Clamp(Math.Min(maxParallelism, chunks / 8), 1, 64);
        if (parts == 1) return ComputeRange(tensor, 0, n).ToStatistics();
        // Contiguous ranges of whole chunks, combined in order: both cores read one mapping, and the result does not
        // depend on thread timing.
        var partial = new Accumulator[parts];
        long perPart = (chunks + parts - 1) / parts * ChunkElements;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            long start = p * perPart;
            partial[p] = ComputeRange(tensor, start, Math.Min(n, start + perPart));
        });
        var total = new Accumulator();
        foreach (var part in partial) total.Combine(part);
        return total.ToStatistics();
    }

    private static Accumulator ComputeRange(TensorBuffer tensor, long begin, long end)
    {
        var acc = new Accumulator();
        if (tensor.Info.DType == DType.F32)
        {
            // The common case reads straight from the mapped bytes: no conversion copy.
            for (long start = begin; start < end; start += ChunkElements)
            {
                int count = (int)Math.Min(ChunkElements, end - start);
                acc.Add(MemoryMarshal.Cast<byte, float>(tensor.GetBytes(start * 4, count * 4)));
            }
            return acc;
        }
        // Every dtype but F64 and I64 is exact in float32; those two are widened straight to double.
        bool wide = tensor.Info.DType is DType.F64 or DType.I64;
        float[]? f = wide ? null : ArrayPool<float>.Shared.Rent(ChunkElements);
        double[]? d = wide ? ArrayPool<double>.Shared.Rent(ChunkElements) : null;
        try
        {
            for (long start = begin; start < end; start += ChunkElements)
            {
                int count = (int)Math.Min(ChunkElements, end - start);
                if (wide) { tensor.CopyTo(start, d.AsSpan(0, count)); acc.Add(d.AsSpan(0, count)); }
                else { tensor.CopyTo(start, f.AsSpan(0, count)); acc.Add(f.AsSpan(0, count)); }
            }
        }
        finally
        {
            if (f is not null) ArrayPool<float>.Shared.Return(f);
            if (d is not null) ArrayPool<double>.Shared.Return(d);
        }
        return acc;
    }

    /// <summary>Statistics of values already in memory (same definitions as <see cref="Compute(TensorBuffer, int)"/>).</summary>
    public static TensorStatistics Compute(ReadOnlySpan<float> values)
    {
        var acc = new Accumulator();
        for (int start = 0; start < values.Length; start += ChunkElements)
            acc.Add(values.Slice(start, Math.Min(ChunkElements, values.Length - start)));
        return acc.ToStatistics();
    }

    /// <summary>Running totals over chunks; each chunk contributes (n, mean, M2) merged by Chan's update.</summary>
    private struct Accumulator
    {
        private long _count, _nan, _inf;
        private double _mean, _m2, _sum, _sumSquares;
        private double _min, _max;
        private bool _poisoned;   // a NaN/Inf was seen: sum/mean/std/l2 follow IEEE from here on

        public Accumulator() { _min = double.PositiveInfinity; _max = double.NegativeInfinity; }

        public void Add(ReadOnlySpan<float> x)
        {
            if (x.IsEmpty) return;
            // Shift by the chunk's first value so the squared sums stay small (weights cluster tightly); Σx² is
            // recovered as Σd² + 2KΣd + nK² with d = x − K.
            double shift = float.IsFinite(x[0]) ? x[0] : 0;
            var vShift = new Vector<double>(shift);
            Vector<double> s1a = default, s1b = default, s2a = default, s2b = default;
            Vector<float> vmin = new(float.PositiveInfinity), vmax = new(float.NegativeInfinity);
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(x);
            foreach (var v in vectors)
            {
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);
                Vector.Widen(v, out var lo, out var hi);
                lo -= vShift;
                hi -= vShift;
                s1a += lo;
                s1b += hi;
                s2a = Vector.FusedMultiplyAdd(lo, lo, s2a);
                s2b = Vector.FusedMultiplyAdd(hi, hi, s2b);
            }
            double d1 = Vector.Sum(s1a + s1b), d2 = Vector.Sum(s2a + s2b);
            float fmin = float.PositiveInfinity, fmax = float.NegativeInfinity;
            if (!vectors.IsEmpty)
                for (int k = 0; k < Vector<float>.Count; k++) { fmin = MathF.Min(fmin, vmin[k]); fmax = MathF.Max(fmax, vmax[k]); }
            for (int i = vectors.Length * Vector<float>.Count; i < x.Length; i++)
            {
                fmin = MathF.Min(fmin, x[i]); fmax = MathF.Max(fmax, x[i]);
                double c = x[i] - shift; d1 += c; d2 += c * c;
            }
            if (double.IsFinite(d1) && double.IsFinite(d2))
            {
                double raw2 = Math.Max(0, d2 + 2 * shift * d1 + x.Length * shift * shift);
                Merge(x.Length, shift, d1, d2, raw2, fmin, fmax);
                return;
            }
            // Rare path: the chunk holds NaN or ±Inf; count them and keep IEEE results for the sums.
            AddNonFinite(x);
        }

        public void Add(ReadOnlySpan<double> x)
        {
            if (x.IsEmpty) return;
            double shift = double.IsFinite(x[0]) ? x[0] : 0;
            double d1 = 0, d2 = 0, r2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            bool finite = true;
            foreach (double v in x)
            {
                if (!double.IsFinite(v)) { finite = false; break; }
                min = Math.Min(min, v); max = Math.Max(max, v);
                r2 += v * v;
                double c = v - shift; d1 += c; d2 += c * c;
            }
            if (finite && double.IsFinite(d2) && double.IsFinite(r2)) { Merge(x.Length, shift, d1, d2, r2, min, max); return; }
            foreach (double v in x) AddOne(v);
        }

        private void AddNonFinite(ReadOnlySpan<float> x)
        {
            foreach (float v in x) AddOne(v);
        }

        private void AddOne(double v)
        {
            if (double.IsNaN(v)) _nan++;
            else
            {
                if (double.IsInfinity(v)) _inf++;
                _min = Math.Min(_min, v); _max = Math.Max(_max, v);
            }
            _count++;
            _sum += v;
            _sumSquares += v * v;
            if (!double.IsFinite(v)) { _poisoned = true; _mean = double.NaN; _m2 = double.NaN; }
            else if (!_poisoned)
            {
                // Welford's single-value update.
                double delta = v - _mean;
                _mean += delta / _count;
                _m2 += delta * (v - _mean);
            }
        }

        private void Merge(int n, double shift, double s1, double s2, double raw2, double min, double max)
        {
            double meanB = shift + s1 / n;
            double m2B = Math.Max(0, s2 - s1 * s1 / n);
            _sum += shift * n + s1;
            _sumSquares += raw2;
            _min = Math.Min(_min, min); _max = Math.Max(_max, max);
            long total = _count + n;
            if (!_poisoned)
            {
                // Chan, Golub, LeVeque (1979): pairwise combination of (count, mean, M2).
                double delta = meanB - _mean;
                _mean += delta * n / total;
                _m2 += m2B + delta * delta * ((double)_count * n / total);
            }
            _count = total;
        }

        /// <summary>Appends the totals of a later, disjoint range.</summary>
        public void Combine(in Accumulator other)
        {
            if (other._count == 0) return;
            _nan += other._nan;
            _inf += other._inf;
            _sum += other._sum;
            _sumSquares += other._sumSquares;
            _min = Math.Min(_min, other._min);
            _max = Math.Max(_max, other._max);
            long total = _count + other._count;
            if (_poisoned || other._poisoned) { _poisoned = true; _mean = double.NaN; _m2 = double.NaN; }
            else
            {
                double delta = other._mean - _mean;
                _mean += delta * other._count / total;
                _m2 += other._m2 + delta * delta * ((double)_count * other._count / total);
            }
            _count = total;
        }

        public readonly TensorStatistics ToStatistics()
        {
            if (_count == 0) return new TensorStatistics(0, 0, double.NaN, double.NaN, double.NaN, double.NaN, 0, 0, 0);
            double mean = _poisoned ? _sum / _count : _mean;
            double std = _poisoned ? double.NaN : Math.Sqrt(_m2 / _count);
            if (_poisoned && _nan == 0 && _inf > 0) std = double.NaN;
            double min = _nan == _count ? double.NaN : _min;
            double max = _nan == _count ? double.NaN : _max;
            return new TensorStatistics(_count, _sum, mean, std, min, max, Math.Sqrt(_sumSquares), _nan, _inf);
        }
    }
}
