using System.Buffers;
using System.Numerics;

namespace WeightSpace.Analysis.Numerics;

/// <summary>Exact k-th largest |x| in two linear passes, by histogramming the float bit pattern: for non-negative
/// floats the bit pattern orders like the value, so the top 16 bits pick a bin and the low 16 bits the exact value.
/// O(n) time, 512 KB of counters, no copy of the data (a sort would need n extra floats per model).</summary>
/// <remarks>The counters come from <see cref="ArrayPool{T}"/> and go back on <see cref="Dispose"/>: a merge makes one
/// selection per model and tensor, and fresh 256–512 KB counter arrays were large-object garbage that forced gen-2
/// collections.</remarks>
internal sealed class MagnitudeSelection : IDisposable
{
    private long[] _high = Rent(1 << 15);
    private long[] _low = Rent(1 << 16);
    private long _count;
    private int _bin = -1;
    private long _remaining;

    public static uint Key(float x) => BitConverter.SingleToUInt32Bits(x) & 0x7FFF_FFFFu;

    public void AddHigh(ReadOnlySpan<float> values)
    {
        // Four interleaved counter tables: neighbouring entries of real tensors fall into the same few bins, and one table
        // would serialise on store-to-load forwarding of the same counter (measured ~2.5× slower on 32M entries).
        const int block = 1 << 28;   // uint counters cannot overflow within a block
        var tables = ArrayPool<uint>.Shared.Rent(4 * (1 << 15));
        Array.Clear(tables, 0, 4 * (1 << 15));
        try
        {
            var bits = MemoryMarshal.Cast<float, uint>(values);
            for (int start = 0; start < bits.Length; start += block)
            {
                var part = bits.Slice(start, Math.Min(block, bits.Length - start));
                int i = 0;
                for (; i <= part.Length - 4; i += 4)
                {
                    tables[(int)((part[i] & 0x7FFF_FFFFu) >> 16)]++;
                    tables[(1 << 15) + (int)((part[i + 1] & 0x7FFF_FFFFu) >> 16)]++;
                    tables[(2 << 15) + (int)((part[i + 2] & 0x7FFF_FFFFu) >> 16)]++;
                    tables[(3 << 15) + (int)((part[i + 3] & 0x7FFF_FFFFu) >> 16)]++;
                }
                for (; i < part.Length; i++) tables[(int)((part[i] & 0x7FFF_FFFFu) >> 16)]++;
                for (int b = 0; b < 1 << 15; b++)
                {
                    _high[b] += (long)tables[b] + tables[(1 << 15) + b] + tables[(2 << 15) + b] + tables[(3 << 15) + b];
                }
                Array.Clear(tables, 0, 4 * (1 << 15));
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(tables);
        }
        _count += values.Length;
    }

    /// <summary>After every <see cref="AddHigh"/>: picks the bin holding the k-th largest (1-based k).</summary>
    public void ChooseBin(long k)
    {
        if (k < 1 || k > _count) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} outside 1..{_count}.");
        long cum = 0;
        for (int b = (1 << 15) - 1; b >= 0; b--)
        {
            if (cum + _high[b] >= k) { _bin = b; _remaining = k - cum; return; }
            cum += _high[b];
        }
    }

    public void AddLow(ReadOnlySpan<float> values)
    {
        uint bin = (uint)_bin;
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var high = new Vector<uint>(0x7FFF_0000u);
        var target = new Vector<uint>(bin << 16);
        int i = 0;
        // Few entries fall into the chosen bin: test a vector at a time and count only inside vectors that hold one.
        for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
        {
            if (!Vector.EqualsAny(new Vector<uint>(bits[i..]) & high, target)) continue;
            for (int j = i; j < i + Vector<uint>.Count; j++)
            {
                uint key = bits[j] & 0x7FFF_FFFFu;
                if (key >> 16 == bin) _low[key & 0xFFFF]++;
            }
        }
        for (; i < bits.Length; i++)
        {
            uint key = bits[i] & 0x7FFF_FFFFu;
            if (key >> 16 == bin) _low[key & 0xFFFF]++;
        }
    }

    /// <summary>The k-th largest magnitude and how many entries equal to it belong to the top k.</summary>
    public (float Threshold, long TiesInTopK) Finish()
    {
        var (threshold, ties, _) = FinishWithCount();
        return (threshold, ties);
    }

    /// <summary>As <see cref="Finish"/>, plus how many entries have exactly the threshold's magnitude.</summary>
    private (float Threshold, long TiesInTopK, long EqualCount) FinishWithCount()
    {
        long cum = 0;
        for (int l = (1 << 16) - 1; l >= 0; l--)
        {
            if (cum + _low[l] >= _remaining)
                return (BitConverter.UInt32BitsToSingle(((uint)_bin << 16) | (uint)l), _remaining - cum, _low[l]);
            cum += _low[l];
        }
        throw new InvalidOperationException("AddLow saw fewer values than AddHigh.");
    }

    private static long[] Rent(int length)
    {
        var a = ArrayPool<long>.Shared.Rent(length);
        Array.Clear(a, 0, length);
        return a;
    }

    /// <summary>Returns the counters to the pool.</summary>
    public void Dispose()
    {
        if (_high.Length > 0) ArrayPool<long>.Shared.Return(_high);
        if (_low.Length > 0) ArrayPool<long>.Shared.Return(_low);
        _high = [];
        _low = [];
    }

    /// <summary>Zeroes all but the k largest-magnitude entries (ties at the threshold: the first in index order win).</summary>
    public static void KeepTopK(Span<float> values, long k)
    {
        if (k >= values.Length) return;
        if (k <= 0) { values.Clear(); return; }
        using var selection = new MagnitudeSelection();
        selection.AddHigh(values);
        selection.ChooseBin(k);
        selection.AddLow(values);
        var (threshold, ties, equal) = selection.FinishWithCount();
        uint t = Key(threshold);
        // Keep |x| > t everywhere, and |x| = t up to the ties-th such entry in index order: one vector pass each side of it.
        int lastTie = ties == equal ? values.Length - 1 : LastTieIndex(values, t, ties);
        Keep(values[..(lastTie + 1)], t);
        if (t < uint.MaxValue) Keep(values[(lastTie + 1)..], t + 1);
    }

    /// <summary>Zeroes every entry whose magnitude key is below <paramref name="t"/>.</summary>
    private static void Keep(Span<float> values, uint t)
    {
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var magnitude = new Vector<uint>(0x7FFF_FFFFu);
        var threshold = new Vector<uint>(t);
        int i = 0;
        for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
        {
            var v = new Vector<uint>(bits[i..]);
            (v & Vector.GreaterThanOrEqual(v & magnitude, threshold)).CopyTo(bits[i..]);
        }
        for (; i < bits.Length; i++)
            if ((bits[i] & 0x7FFF_FFFFu) < t) bits[i] = 0;
    }

    /// <summary>Index of the <paramref name="ties"/>-th entry whose key equals <paramref name="t"/>, or −1 if none is kept.</summary>
    private static int LastTieIndex(ReadOnlySpan<float> values, uint t, long ties)
    {
        if (ties <= 0) return -1;
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var magnitude = new Vector<uint>(0x7FFF_FFFFu);
        var threshold = new Vector<uint>(t);
        int i = 0;
        // Count equal keys a vector at a time (each match is all ones, i.e. −1 as int); step into the vector that reaches the count.
        for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
        {
            int equal = -Vector.Sum(Vector.AsVectorInt32(Vector.Equals(new Vector<uint>(bits[i..]) & magnitude, threshold)));
            if (equal >= ties) break;
            ties -= equal;
        }
        for (; i < bits.Length; i++)
            if ((bits[i] & 0x7FFF_FFFFu) == t && --ties == 0) return i;
        return values.Length - 1;
    }

    /// <summary>Writes 1 where an entry is among the k largest magnitudes (same tie rule as <see cref="KeepTopK"/>), else 0.</summary>
    public static void TopKMask(ReadOnlySpan<float> values, long k, Span<bool> mask)
    {
        if (k >= values.Length) { mask[..values.Length].Fill(true); return; }
        if (k <= 0) { mask[..values.Length].Clear(); return; }
        var (threshold, ties) = KthLargest(values, k);
        uint t = Key(threshold);
        for (int i = 0; i < values.Length; i++)
        {
            uint key = Key(values[i]);
            if (key > t) mask[i] = true;
            else if (key == t && ties > 0) { ties--; mask[i] = true; }
            else mask[i] = false;
        }
    }

    public static (float Threshold, long Ties) KthLargest(ReadOnlySpan<float> values, long k)
    {
        using var s = new MagnitudeSelection();
        s.AddHigh(values);
        s.ChooseBin(k);
        s.AddLow(values);
        return s.Finish();
    }
}
