namespace WeightSpace.Analysis.TaskVectors;

/// <summary>Count and Σ|x| per magnitude bin (exponent + 3 mantissa bits, so a bin spans a factor ≤ 2^(1/8)): the
/// top-f mass share of a group of tensors without holding them.</summary>
internal sealed class MassHistogram
{
    private const int Shift = 20;
    private readonly long[] _counts = new long[1 << (31 - Shift)];
    private readonly double[] _mass = new double[1 << (31 - Shift)];
    private long _total;
    private double _totalMass;

    public void Add(ReadOnlySpan<float> values)
    {
        foreach (float x in values)
        {
            int bin = (int)(MagnitudeSelection.Key(x) >> Shift);
            double a = Math.Abs((double)x);
            _counts[bin]++;
            _mass[bin] += a;
            _totalMass += a;
        }
        _total += values.Length;
    }

    /// <summary>Adds another histogram's bins (a tensor's, into its group's).</summary>
    public void Add(MassHistogram other)
    {
        for (int b = 0; b < _counts.Length; b++)
        {
            if (other._counts[b] == 0) continue;
            _counts[b] += other._counts[b];
            _mass[b] += other._mass[b];
        }
        _total += other._total;
        _totalMass += other._totalMass;
    }

    /// <summary>The non-empty bins (index, count, Σ|x|) and the totals, for a part file.</summary>
    public (int[] Bins, long[] Counts, double[] Mass, long Total, double TotalMass) Export()
    {
        var bins = Enumerable.Range(0, _counts.Length).Where(b => _counts[b] != 0).ToArray();
        return (bins, bins.Select(b => _counts[b]).ToArray(), bins.Select(b => _mass[b]).ToArray(), _total, _totalMass);
    }

    /// <summary>The histogram <see cref="Export"/> described.</summary>
    /// <exception cref="FormatException">A bin index is out of range, repeated, or the lists differ in length.</exception>
    public static MassHistogram Import(int[] bins, long[] counts, double[] mass, long total, double totalMass)
    {
        if (bins.Length != counts.Length || bins.Length != mass.Length) throw new FormatException("histogram lists differ in length");
        var h = new MassHistogram();
        for (int k = 0; k < bins.Length; k++)
        {
            int b = bins[k];
            if (b < 0 || b >= h._counts.Length || h._counts[b] != 0 || counts[k] <= 0) throw new FormatException($"histogram bin {b} is out of range, repeated or empty");
            h._counts[b] = counts[k];
            h._mass[b] = mass[k];
        }
        h._total = total;
        h._totalMass = totalMass;
        return h;
    }

    /// <summary>Share of Σ|x| held by the top ⌊f·n⌋ entries; inside the boundary bin entries are taken as equal.</summary>
    public double TopShare(double fraction)
    {
        if (_totalMass == 0) return 0;
        long k = (long)(fraction * _total), taken = 0;
        double mass = 0;
        for (int b = _counts.Length - 1; b >= 0 && taken < k; b--)
        {
            if (_counts[b] == 0) continue;
            long take = Math.Min(_counts[b], k - taken);
            mass += _mass[b] * take / _counts[b];
            taken += take;
        }
        return mass / _totalMass;
    }
}
