using System.Diagnostics;
using System.Globalization;
using WeightSpace.Analysis.Alignment;
using static TorchSharp.torch;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 5's benchmark: the LAP solver (shortest augmenting paths, O(n³) worst case) at n = 512, 1024, 2048 against a
/// single dense float64 n×n·n×n matmul in the same run, and a full weight matching of two 3×512 MLPs (784 → 512 ×3 →
/// 10, PyTorch-default random init). The yardstick is a matmul rather than a textbook Hungarian because it is one
/// O(n³) pass at the best speed this machine reaches (TorchSharp's BLAS, 2 threads): the ratio says how many
/// "dense n³ passes" a solve costs, independently of how fast a reference implementation happens to be written.
/// </summary>
internal static class LapBenchmark
{
    public static int Run(string[] args)
    {
        int repeats = int.Parse(Option(args, "--repeats") ?? "3", CultureInfo.InvariantCulture);
        int[] sizes = (Option(args, "--sizes") ?? "512,1024,2048").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        set_num_threads(2);
        LinearAssignment.SolveMaximum(new double[4], 2, new int[2]);   // JIT warm-up
        Console.WriteLine($"| n | LAP solve (median of {repeats}) | float64 n³ matmul (median of {repeats}) | ratio |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int n in sizes)
        {
            var rng = new Random(n);
            var profit = new double[(long)n * n];
            for (int i = 0; i < profit.Length; i++) profit[i] = rng.NextDouble();
            var assignment = new int[n];
            double lap = Median(repeats, () => LinearAssignment.SolveMaximum(profit, n, assignment));
            double matmul;
            using (var scope = NewDisposeScope())
            {
                var m = tensor(profit, [n, n]);
                m.matmul(m).sum().item<double>();   // warm-up
                matmul = Median(repeats, () => m.matmul(m).sum().item<double>());
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {lap:F3} s | {matmul:F3} s | {lap / matmul:F1} |"));
        }

        var a = RandomMlp(0);
        var b = RandomMlp(1);
        var spec = PermutationSpec.Mlp(a);
        var clock = Stopwatch.StartNew();
        var result = WeightMatching.Align(a, b, spec);
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\nweight matching 3×512 MLP (random init, seeds 0/1): {seconds:F2} s, {result.Iterations} sweeps ({seconds / result.Iterations:F2} s per sweep of 3 LAPs), distance {result.DistanceBefore:F2} -> {result.DistanceAfter:F2}"));
        return 0;
    }

    // PyTorch's default Linear init, U(−1/√fan_in, 1/√fan_in) for weight and bias.
    private static InMemoryTensorStore RandomMlp(int seed)
    {
        var rng = new Random(seed);
        var store = new InMemoryTensorStore($"mlp3x512_seed{seed}");
        int[] widths = [784, 512, 512, 512, 10];
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            double bound = 1 / Math.Sqrt(widths[i]);
            float[] Uniform(int count) => Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2 - 1) * bound)).ToArray();
            store.Add($"layers.{i}.weight", Uniform(widths[i + 1] * widths[i]), widths[i + 1], widths[i]);
            store.Add($"layers.{i}.bias", Uniform(widths[i + 1]), widths[i + 1]);
        }
        return store;
    }

    private static double Median(int repeats, Action action)
    {
        var times = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times[r] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    private static double Median(int repeats, Func<double> action) => Median(repeats, () => { action(); });

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
