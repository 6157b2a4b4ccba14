namespace WeightSpace.Analysis.Alignment;

/// <summary>Exact solver for the dense square linear assignment problem (LAP): choose one column per row, each column
/// once, to maximise (or minimise) the summed entries.</summary>
/// <remarks>
/// Shortest augmenting paths with dual potentials, the augmentation phase of Jonker and Volgenant
/// (<see href="https://doi.org/10.1007/BF02278710">Computing 38, 1987</see>), which is the Hungarian method in O(n³):
/// each row is added by a Dijkstra-like search over reduced costs c[i,j] − u[i] − v[j] ≥ 0, and the potentials are
/// updated so that reduced costs stay non-negative and are zero on the matching. Hand-written because no package
/// served here (MathNet, TorchSharp, System.Numerics.Tensors) provides an assignment solver.
/// </remarks>
public static class LinearAssignment
{
    /// <summary>Finds the permutation maximising Σᵢ profit[i, rowToColumn[i]] over an n×n row-major matrix.</summary>
    /// <param name="profit">n×n values, row-major; every value finite.</param>
    /// <param name="n">Matrix size.</param>
    /// <param name="rowToColumn">Receives the column chosen for each of the n rows.</param>
    /// <returns>The optimal total profit (summed in double precision).</returns>
    /// <exception cref="ArgumentException">The span lengths do not match n, or a value is NaN or infinite.</exception>
    public static double SolveMaximum(ReadOnlySpan<double> profit, int n, Span<int> rowToColumn) =>
        Solve(profit, n, rowToColumn, maximise: true);

    /// <summary>Finds the permutation minimising Σᵢ cost[i, rowToColumn[i]] over an n×n row-major matrix.</summary>
    /// <param name="cost">n×n values, row-major; every value finite.</param>
    /// <param name="n">Matrix size.</param>
    /// <param name="rowToColumn">Receives the column chosen for each of the n rows.</param>
    /// <returns>The optimal total cost.</returns>
    /// <exception cref="ArgumentException">The span lengths do not match n, or a value is NaN or infinite.</exception>
    public static double SolveMinimum(ReadOnlySpan<double> cost, int n, Span<int> rowToColumn) =>
        Solve(cost, n, rowToColumn, maximise: false);

    private static double Solve(ReadOnlySpan<double> matrix, int n, Span<int> rowToColumn, bool maximise)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (matrix.Length != (long)n * n) throw new ArgumentException($"A {n}×{n} matrix needs {(long)n * n} values; {matrix.Length} given.", nameof(matrix));
        if (rowToColumn.Length != n) throw new ArgumentException($"rowToColumn holds {rowToColumn.Length}; {n} needed.", nameof(rowToColumn));
        if (n == 0) return 0;
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(matrix))
            throw new ArgumentException("The matrix contains NaN or an infinity.", nameof(matrix));

        // Work on costs to minimise: a maximisation negates the profits.
        double sign = maximise ? -1 : 1;
        var cost = new double[(long)n * n];
        for (int i = 0; i < n; i++)
        {
            var src = matrix.Slice(i * n, n);
            var dst = cost.AsSpan(i * n, n);
            System.Numerics.Tensors.TensorPrimitives.Multiply(src, sign, dst);
        }

        // Index 0 is a virtual column/row so every real column starts "matched" to the row being inserted.
        var u = new double[n + 1];
        var v = new double[n + 1];
        var columnRow = new int[n + 1];   // columnRow[j] = 1-based row matched to column j (0 = free)
        var way = new int[n + 1];
        var minReduced = new double[n + 1];
        var used = new bool[n + 1];
        for (int row = 1; row <= n; row++)
        {
            columnRow[0] = row;
            int j0 = 0;
            Array.Fill(minReduced, double.PositiveInfinity);
            Array.Clear(used);
            do
            {
                used[j0] = true;
                int i0 = columnRow[j0];
                double delta = double.PositiveInfinity;
                int j1 = 0;
                var costRow = cost.AsSpan((i0 - 1) * n, n);
                double ui = u[i0];
                for (int j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    double reduced = costRow[j - 1] - ui - v[j];
                    if (reduced < minReduced[j]) { minReduced[j] = reduced; way[j] = j0; }
                    if (minReduced[j] < delta) { delta = minReduced[j]; j1 = j; }
                }
                for (int j = 0; j <= n; j++)
                {
                    if (used[j]) { u[columnRow[j]] += delta; v[j] -= delta; }
                    else minReduced[j] -= delta;
                }
                j0 = j1;
            }
            while (columnRow[j0] != 0);
            do
            {
                int j1 = way[j0];
                columnRow[j0] = columnRow[j1];
                j0 = j1;
            }
            while (j0 != 0);
        }

        double total = 0;
        for (int j = 1; j <= n; j++)
        {
            int i = columnRow[j] - 1;
            rowToColumn[i] = j - 1;
            total += matrix[i * n + j - 1];
        }
        return total;
    }
}
