namespace WeightSpace.Tests.Formats.PyTorch;

/// <summary>Correctly rounded sum of doubles, the algorithm of Python's <c>math.fsum</c> (Shewchuk's exact partials,
/// "Adaptive Precision Floating-Point Arithmetic", 1997, with CPython's half-even fix-up), so sums compare exactly
/// with the expected.json values, which <c>math.fsum</c> wrote.</summary>
internal static class ExactSum
{
    public static double FSum(IEnumerable<double> values)
    {
        var partials = new List<double>();
        foreach (double value in values)
        {
            double x = value;
            int i = 0;
            for (int j = 0; j < partials.Count; j++)
            {
                double y = partials[j];
                if (Math.Abs(x) < Math.Abs(y)) (x, y) = (y, x);
                double hi = x + y;
                double lo = y - (hi - x);
                if (lo != 0.0) partials[i++] = lo;
                x = hi;
            }
            partials.RemoveRange(i, partials.Count - i);
            partials.Add(x);
        }
        int n = partials.Count;
        if (n == 0) return 0.0;
        double total = partials[--n], low = 0.0;
        while (n > 0)
        {
            double x = total, y = partials[--n];
            total = x + y;
            double yr = total - x;
            low = y - yr;
            if (low != 0.0) break;
        }
        if (n > 0 && ((low < 0 && partials[n - 1] < 0) || (low > 0 && partials[n - 1] > 0)))
        {
            double y = low * 2, x = total + y;
            if (y == x - total) total = x;
        }
        return total;
    }
}
