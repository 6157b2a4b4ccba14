using WeightSpace.Analysis.Numerics;

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
