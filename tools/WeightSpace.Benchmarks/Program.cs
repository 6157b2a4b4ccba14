using WeightSpace.Benchmarks;

// Usage: dotnet run -c Release --project tools/WeightSpace.Benchmarks -- <benchmark> [options]
// Each benchmark prints a markdown block for docs/benchmarks.md with its baseline measured in the same run.
return args.FirstOrDefault() switch
{
    "scan" => ScanBenchmark.Run(args[1..]),
    "scan-child" => ScanBenchmark.RunChild(args[1..]),
    "stats-kernel" => ScanBenchmark.RunKernel(),
    "merge" => MergeBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: WeightSpace.Benchmarks <benchmark> [options]
          scan [--size-gb 3] [--dir DIR]   inspect (headers) and --stats scan vs plain reading, peak RSS
          merge [--size-gb 2] [--runs 3]   3-model TIES merge vs I/O bound, peak RSS; `merge digits`, `merge onnx`: docs/merging.md tables
        """);
    return 2;
}
