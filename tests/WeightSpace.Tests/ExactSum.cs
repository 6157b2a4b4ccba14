namespace WeightSpace.Tests;

/// <summary>Correctly rounded float64 sum, the algorithm of Python's <c>math.fsum</c> (Shewchuk, "Adaptive Precision
/// Floating-Point Arithmetic and Fast Robust Geometric Predicates", 1997: exact partials by two-sum, then one final
/// rounding with the half-way correction). Results equal the fixtures' <c>sum_fsum</c> bit for bit.</summary>
internal static class ExactSum
{
    public static double FSum(IEnumerable<double> values)
    {
        var partials = new List<double>();
        foreach (double v in values)
        {
            double x = v;
            int i = 0;
            for (int j = 0; j < partials.Count; j++)
            {
                double y = partials[j];
                if (Math.Abs(x) < Math.Abs(y)) (x, y) = (y, x);
                double hi = x + y;
                double lo = y - (hi - x);
                if (lo != 0) partials[i++] = lo;
                x = hi;
            }
            partials.RemoveRange(i, partials.Count - i);
            partials.Add(x);
        }
        int n = partials.Count;
        double sum = 0;
        if (n == 0) return sum;
        double low = 0;
        sum = partials[--n];
        while (n > 0)
        {
            double x = sum;
            double y = partials[--n];
            sum = x + y;
            double yr = sum - x;
            low = y - yr;
            if (low != 0) break;
        }
        if (n > 0 && ((low < 0 && partials[n - 1] < 0) || (low > 0 && partials[n - 1] > 0)))
        {
            double y = low * 2;
            double x = sum + y;
            if (y == x - sum) sum = x;
        }
        return sum;
    }
}
