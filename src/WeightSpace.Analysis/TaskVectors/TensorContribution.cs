namespace WeightSpace.Analysis.TaskVectors;

/// <summary>What one tensor adds to a group's and the whole model's sums: entry count, ‖θ₀‖², ⟨Δᵢ,Δⱼ⟩, sign
/// agreement and conflict counts (upper triangle of m×m, row-major), and per model the |Δ| histogram. A sharded
/// diff stores it per tensor, so the combine adds exactly what a single run adds.</summary>
internal sealed record TensorContribution(long Count, double BaseSq, double[] Dot, long[] Agree, long[] Conflict, MassHistogram[]? Histograms)
{
    public static TensorContribution Of(long count, double baseSq, float[][] deltas, bool histograms)
    {
        int m = deltas.Length;
        var dot = new double[m * m];
        var agree = new long[m * m];
        var conflict = new long[m * m];
        for (int i = 0; i < m; i++)
            for (int j = i; j < m; j++)
            {
                dot[i * m + j] = SpanMath.Dot(deltas[i], deltas[j]);
                var (same, opposite) = SignCounts(deltas[i], deltas[j]);
                agree[i * m + j] = same;
                conflict[i * m + j] = opposite;
            }
        MassHistogram[]? h = null;
        if (histograms)
        {
            h = new MassHistogram[m];
            for (int i = 0; i < m; i++) { h[i] = new MassHistogram(); h[i].Add(deltas[i]); }
        }
        return new TensorContribution(count, baseSq, dot, agree, conflict, h);
    }

    // Entries where both are non-zero, split by whether their signs agree.
    private static (long Same, long Opposite) SignCounts(float[] a, float[] b)
    {
        long same = 0, opposite = 0;
        for (int k = 0; k < a.Length; k++)
        {
            if (a[k] == 0 || b[k] == 0) continue;
            if ((a[k] > 0) == (b[k] > 0)) same++; else opposite++;
        }
        return (same, opposite);
    }
}
