namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>Exact k-th largest |x| in two linear passes, by histogramming the float bit pattern: for non-negative
/// floats the bit pattern orders like the value, so the top 16 bits pick a bin and the low 16 bits the exact value.
/// O(n) time, 512 KB of counters, no copy of the data (a sort would need n extra floats per model).</summary>
internal sealed class MagnitudeSelection
{
    private readonly long[] _high = new long[1 << 15];
    private readonly long[] _low = new long[1 << 16];
    private long _count;
    private int _bin = -1;
    private long _remaining;

    public static uint Key(float x) => BitConverter.SingleToUInt32Bits(x) & 0x7FFF_FFFFu;

    public void AddHigh(ReadOnlySpan<float> values)
    {
        foreach (float x in values) _high[Key(x) >> 16]++;
        _count += values.Length;
    }

    /// <summary>After every <see cref="AddHigh"/>: picks the bin holding the k-th largest (1-based k).</summary>
    public void ChooseBin(long k)
    {
        if (k < 1 || k > _count) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} outside 1..{_count}.");
        long cum = 0;
        for (int b = _high.Length - 1; b >= 0; b--)
        {
            if (cum + _high[b] >= k) { _bin = b; _remaining = k - cum; return; }
            cum += _high[b];
        }
    }

    public void AddLow(ReadOnlySpan<float> values)
    {
        uint bin = (uint)_bin;
        foreach (float x in values)
        {
            uint key = Key(x);
            if (key >> 16 == bin) _low[key & 0xFFFF]++;
        }
    }

    /// <summary>The k-th largest magnitude and how many entries equal to it belong to the top k.</summary>
    public (float Threshold, long TiesInTopK) Finish()
    {
        long cum = 0;
        for (int l = _low.Length - 1; l >= 0; l--)
        {
            if (cum + _low[l] >= _remaining)
                return (BitConverter.UInt32BitsToSingle(((uint)_bin << 16) | (uint)l), _remaining - cum);
            cum += _low[l];
        }
        throw new InvalidOperationException("AddLow saw fewer values than AddHigh.");
    }

    /// <summary>Zeroes all but the k largest-magnitude entries (ties at the threshold: the first in index order win).</summary>
    public static void KeepTopK(Span<float> values, long k)
    {
        if (k >= values.Length) return;
        if (k <= 0) { values.Clear(); return; }
        var (threshold, ties) = KthLargest(values, k);
        uint t = Key(threshold);
        int lastTie = LastTieIndex(values, t, ties);
        // Selects, not branches: whether an entry survives is close to random, which a branch predictor cannot learn.
        for (int i = 0; i < values.Length; i++)
        {
            uint key = Key(values[i]);
            bool keep = key > t | (key == t & i <= lastTie);
            values[i] = keep ? values[i] : 0f;
        }
    }

    /// <summary>Index of the <paramref name="ties"/>-th entry whose key equals <paramref name="t"/>, or −1 if none is kept.</summary>
    private static int LastTieIndex(ReadOnlySpan<float> values, uint t, long ties)
    {
        if (ties <= 0) return -1;
        for (int i = 0; i < values.Length; i++)
            if (Key(values[i]) == t && --ties == 0) return i;
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
        var s = new MagnitudeSelection();
        s.AddHigh(values);
        s.ChooseBin(k);
        s.AddLow(values);
        return s.Finish();
    }
}
