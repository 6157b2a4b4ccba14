using WeightSpace.Analysis.Merging.Kernels;
using WeightSpace.Analysis.Numerics;

namespace WeightSpace.Tests.Analysis.Merging;

public class MagnitudeSelectionTests
{
    [Fact]
    public void KeepTopK_EveryLengthTo256_MatchesSortReference()
    {
        var rng = new Random(12);
        for (int n = 0; n <= 256; n++)
        {
            // Few distinct magnitudes, so ties at the threshold are common.
            var values = Enumerable.Range(0, n).Select(_ => (float)(rng.Next(-6, 7) * 0.5)).ToArray();
            foreach (long k in new long[] { 0, 1, n / 3, n / 2, n - 1, n })
            {
                if (k < 0) continue;
                var actual = (float[])values.Clone();
                MagnitudeSelection.KeepTopK(actual, k);
                // Reference: order by |x| descending, index ascending; keep the first k.
                var keep = values.Select((x, i) => (x, i)).OrderByDescending(p => Math.Abs(p.x)).ThenBy(p => p.i).Take((int)k).Select(p => p.i).ToHashSet();
                var expected = values.Select((x, i) => keep.Contains(i) ? x : 0f).ToArray();
                Assert.True(expected.SequenceEqual(actual), $"n {n}, k {k}");
            }
        }
    }

    [Fact]
    public void KthLargest_AcrossBins_IsExact()
    {
        float[] values = [1e-30f, -3.5f, 2.25f, 1e20f, -1e20f, 0f, 7f];
        // |x| sorted: 1e20, 1e20, 7, 3.5, 2.25, 1e-30, 0 → the 4th largest is 3.5 with 1 tie in the top 4.
        var (threshold, ties) = MagnitudeSelection.KthLargest(values, 4);
        Assert.Equal(3.5f, threshold);
        Assert.Equal(1, ties);
        (threshold, ties) = MagnitudeSelection.KthLargest(values, 1);
        Assert.Equal(1e20f, threshold);
        Assert.Equal(1, ties);
    }
}
