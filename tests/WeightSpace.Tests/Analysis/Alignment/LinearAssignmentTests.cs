using CsCheck;
using WeightSpace.Analysis.Alignment;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary>The LAP solver against exhaustive search and hand-solved cases.</summary>
public sealed class LinearAssignmentTests
{
    [Fact]
    public void SolveMaximum_Random6x6_EqualsBruteForce() =>
        Gen.Double[-100, 100].Array[36].Sample(profit =>
        {
            var assignment = new int[6];
            double total = LinearAssignment.SolveMaximum(profit, 6, assignment);
            AssertPermutation(assignment);
            Assert.Equal(BruteForce(profit, 6, maximise: true), total, 9);
            Assert.Equal(Sum(profit, 6, assignment), total, 9);
        }, iter: 2000);

    [Fact]
    public void SolveMinimum_RandomSmallIntegersWithTies_EqualsBruteForce() =>
        Gen.Select(Gen.Int[1, 6], Gen.Int[-3, 3].Array[36]).Sample((n, values) =>
        {
            var cost = values.Take(n * n).Select(v => (double)v).ToArray();
            var assignment = new int[n];
            double total = LinearAssignment.SolveMinimum(cost, n, assignment);
            AssertPermutation(assignment);
            Assert.Equal(BruteForce(cost, n, maximise: false), total);
            Assert.Equal(Sum(cost, n, assignment), total);
        }, iter: 2000);

    [Fact]
    public void SolveMaximum_HandCase_PicksAntiDiagonal()
    {
        // Diagonal 1+1+1 = 3, but the anti-diagonal 2+5+2 = 9 and any other permutation is smaller.
        double[] profit = [1, 0, 2, 0, 5, 0, 2, 0, 1];
        var a = new int[3];
        Assert.Equal(9, LinearAssignment.SolveMaximum(profit, 3, a));
        Assert.Equal([2, 1, 0], a);
    }

    [Fact]
    public void SolveMaximum_NegativeValues_FindsLeastNegative()
    {
        double[] profit = [-10, -1, -3, -2];   // rows: {-10,-1}, {-3,-2}: best is (0→1, 1→0) = -4
        var a = new int[2];
        Assert.Equal(-4, LinearAssignment.SolveMaximum(profit, 2, a));
        Assert.Equal([1, 0], a);
    }

    [Fact]
    public void SolveMaximum_AllEqual_ReturnsAPermutationWithTheCommonTotal()
    {
        var profit = Enumerable.Repeat(2.5, 25).ToArray();
        var a = new int[5];
        Assert.Equal(12.5, LinearAssignment.SolveMaximum(profit, 5, a));
        AssertPermutation(a);
    }

    [Fact]
    public void SolveMaximum_PermutedIdentity_RecoversPermutation()
    {
        int[] hidden = [3, 0, 4, 1, 2];
        var profit = new double[25];
        for (int i = 0; i < 5; i++) profit[i * 5 + hidden[i]] = 1;
        var a = new int[5];
        Assert.Equal(5, LinearAssignment.SolveMaximum(profit, 5, a));
        Assert.Equal(hidden, a);
    }

    [Fact]
    public void SolveMaximum_EmptyMatrix_ReturnsZero() =>
        Assert.Equal(0, LinearAssignment.SolveMaximum([], 0, []));

    [Fact]
    public void SolveMaximum_NaN_Throws() =>
        Assert.Throws<ArgumentException>(() => LinearAssignment.SolveMaximum([1, double.NaN, 0, 1], 2, new int[2]));

    [Fact]
    public void SolveMaximum_WrongLength_Throws() =>
        Assert.Throws<ArgumentException>(() => LinearAssignment.SolveMaximum([1, 2, 3], 2, new int[2]));

    private static void AssertPermutation(int[] a) => Assert.Equal(Enumerable.Range(0, a.Length), a.Order());

    private static double Sum(double[] m, int n, int[] a)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += m[i * n + a[i]];
        return s;
    }

    private static double BruteForce(double[] m, int n, bool maximise)
    {
        double best = maximise ? double.NegativeInfinity : double.PositiveInfinity;
        var perm = Enumerable.Range(0, n).ToArray();
        void Recurse(int k)
        {
            if (k == n)
            {
                double s = Sum(m, n, perm);
                best = maximise ? Math.Max(best, s) : Math.Min(best, s);
                return;
            }
            for (int i = k; i < n; i++)
            {
                (perm[k], perm[i]) = (perm[i], perm[k]);
                Recurse(k + 1);
                (perm[k], perm[i]) = (perm[i], perm[k]);
            }
        }
        Recurse(0);
        return best;
    }
}
