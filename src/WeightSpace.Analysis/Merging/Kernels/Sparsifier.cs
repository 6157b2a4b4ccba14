using System.Buffers;
using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>How a generalized task-arithmetic method thins each task vector before combining.</summary>
internal enum Sparsification { None, Magnitude, Random, MagnitudeOutliers, DellaMagprune }

/// <summary>In-place sparsification of one task vector τ (a model's Δ for one tensor).</summary>
internal static class Sparsifier
{
    /// <summary>Rescales kept entries so Σ|τ| matches the unmasked tensor (mergekit's <c>rescale_norm: l1</c>);
    /// skipped when either sum is below 1e-7, as mergekit does.</summary>
    public static void MatchL1(Span<float> masked, double originalSumAbs)
    {
        double after = SpanMath.SumAbs(masked);
        if (originalSumAbs < 1e-7 || after < 1e-7) return;
        TensorPrimitives.Multiply(masked, (float)(originalSumAbs / after), masked);
    }

    /// <summary>TIES trim (Yadav et al. 2023, §3 step 1): keep the int(density·n) largest |τ| of this tensor.</summary>
    public static void Magnitude(Span<float> tau, double density, bool rescaleL1)
    {
        if (density >= 1) return;
        double before = rescaleL1 ? SpanMath.SumAbs(tau) : 0;
        MagnitudeSelection.KeepTopK(tau, (long)(density * tau.Length));
        if (rescaleL1) MatchL1(tau, before);
    }

    /// <summary>Keeps |τ| ≥ a model-wide threshold (the paper's whole-model top-k; ties at the threshold all kept).</summary>
    public static void AboveThreshold(Span<float> tau, float threshold, bool rescaleL1)
    {
        double before = rescaleL1 ? SpanMath.SumAbs(tau) : 0;
        uint t = MagnitudeSelection.Key(threshold);
        for (int i = 0; i < tau.Length; i++)
            if (MagnitudeSelection.Key(tau[i]) < t) tau[i] = 0;
        if (rescaleL1) MatchL1(tau, before);
    }

    /// <summary>DARE (Yu et al. 2024, eq. 1–2): drop each entry with probability p = 1 − density; rescale the kept
    /// ones by 1/(1 − p) (<paramref name="paperRescale"/>) or to the original L1 norm (mergekit).</summary>
    public static void Random(Span<float> tau, double density, bool rescale, bool paperRescale, DeterministicRandom rng)
    {
        if (density >= 1) return;
        double before = rescale && !paperRescale ? SpanMath.SumAbs(tau) : 0;
        float scale = rescale && paperRescale && density > 0 ? (float)(1.0 / density) : 1f;
        // NextDouble() < density, compared on the 53-bit integer it is made of; a select keeps the loop free of random branches.
        ulong limit = (ulong)(density * (1UL << 53));
        for (int i = 0; i < tau.Length; i++)
            tau[i] = (rng.NextUInt64() >> 11) < limit ? tau[i] * scale : 0f;
        if (rescale && !paperRescale) MatchL1(tau, before);
    }

    /// <summary>Model Breadcrumbs (Davari &amp; Belilovsky 2023, §3): drop the n_top = int(γ·n) largest |τ| (outliers) and the
    /// smallest until int(density·n) remain. When no top entries are dropped, mergekit's slice <c>indices[n_bot:-0]</c>
    /// is empty and the whole tensor becomes zero; the paper keeps the top int(density·n).</summary>
    public static void MagnitudeOutliers(Span<float> tau, double density, double gamma, bool rescaleL1, bool paperEmptySlice)
    {
        if (density >= 1) return;
        int n = tau.Length;
        long target = (long)(density * n), nTop = (long)(gamma * n);
        long nBottom = n - target - nTop;
        if (nBottom < 0) { nTop += nBottom; nBottom = 0; }
        double before = rescaleL1 ? SpanMath.SumAbs(tau) : 0;
        if (nTop == 0 && !paperEmptySlice) { tau.Clear(); return; }
        long keepAbove = n - nBottom;    // entries not among the n_bottom smallest
        if (keepAbove <= 0) { tau.Clear(); return; }
        var (t1, ties1) = keepAbove >= n ? (0f, long.MaxValue) : MagnitudeSelection.KthLargest(tau, keepAbove);
        var (t2, ties2) = nTop > 0 ? MagnitudeSelection.KthLargest(tau, nTop) : (float.PositiveInfinity, 0L);
        uint k1 = keepAbove >= n ? 0u : MagnitudeSelection.Key(t1), k2 = MagnitudeSelection.Key(t2);
        bool allAbove = keepAbove >= n;
        for (int i = 0; i < n; i++)
        {
            uint key = MagnitudeSelection.Key(tau[i]);
            bool inA = allAbove || key > k1 || (key == k1 && ties1-- > 0);
            bool inTop = nTop > 0 && (key > k2 || (key == k2 && ties2-- > 0));
            if (!inA || inTop) tau[i] = 0;
        }
        if (rescaleL1) MatchL1(tau, before);
    }

    /// <summary>DELLA MagPrune (Deep et al. 2024, §3.1): along dimension 1 (a 1-D tensor is one row), rank |τ| ascending,
    /// keep entry i with probability p_i = density − ε + 2ε·(rank_i − 1)/(len − 1); rescale kept entries by 1/p_i (paper,
    /// eq. 3) or to the original L1 norm (mergekit).</summary>
    public static void DellaMagprune(Span<float> tau, Shape shape, double density, double epsilon, bool rescale, bool paperRescale, DeterministicRandom rng)
    {
        if (density >= 1) return;
        if (density <= 0) { tau.Clear(); return; }
        int outer, len, inner;
        if (shape.Rank < 2) { outer = 1; len = tau.Length; inner = 1; }
        else { outer = (int)shape[0]; len = (int)shape[1]; inner = len == 0 ? 0 : tau.Length / Math.Max(1, outer * len); }
        if (len == 0 || outer == 0) return;
        double before = rescale && !paperRescale ? SpanMath.SumAbs(tau) : 0;
        // Sort (|x| bits, index) pairs packed in one ulong: non-negative float bits order like the values, and the index
        // breaks ties, so ranks are stable without a comparer delegate.
        ulong[] packed = ArrayPool<ulong>.Shared.Rent(len);
        float[] probabilities = ArrayPool<float>.Shared.Rent(len);
        try
        {
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < inner; k++)
                {
                    int start = o * len * inner + k;
                    for (int j = 0; j < len; j++)
                        packed[j] = ((ulong)MagnitudeSelection.Key(tau[start + j * inner]) << 32) | (uint)j;
                    Array.Sort(packed, 0, len);
                    for (int r = 0; r < len; r++)
                    {
                        double rankNorm = len > 1 ? r / (double)(len - 1) : 0;
                        probabilities[(int)(uint)packed[r]] = (float)(density - epsilon + rankNorm * 2 * epsilon);
                    }
                    for (int j = 0; j < len; j++)
                    {
                        int at = start + j * inner;
                        double p = probabilities[j];
                        bool keep = rng.NextDouble() < p;
                        tau[at] = !keep ? 0f : rescale && paperRescale ? (float)(tau[at] / p) : tau[at];
                    }
                }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(packed);
            ArrayPool<float>.Shared.Return(probabilities);
        }
        if (rescale && !paperRescale) MatchL1(tau, before);
    }
}
