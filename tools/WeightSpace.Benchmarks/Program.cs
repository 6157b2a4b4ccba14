using WeightSpace.Benchmarks;

// Usage: dotnet run -c Release --project tools/WeightSpace.Benchmarks -- <benchmark> [options]
// Each benchmark prints a markdown block for docs/benchmarks.md with its baseline measured in the same run.
return args.FirstOrDefault() switch
{
    "scan" => ScanBenchmark.Run(args[1..]),
    "scan-child" => ScanBenchmark.RunChild(args[1..]),
    "stats-kernel" => ScanBenchmark.RunKernel(),
    "spectrum" => SpectrumBenchmark.Run(args[1..]),
    "lap" => LapBenchmark.Run(args[1..]),
    "merge" => MergeBenchmark.Run(args[1..]),
    "startup" => StartupBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: WeightSpace.Benchmarks <benchmark> [options]
          scan [--size-gb 3] [--dir DIR]   inspect (headers) and --stats scan vs plain reading, peak RSS
          spectrum [--rounds 3] [--threads N] [--no-4096] SpectrumAnalyzer.Analyze vs bare svdvals on the same layers; KS search vs SVD
          lap [--sizes 512,1024,2048] [--repeats 3]   LAP solve vs float64 n³ matmul; weight matching of 3×512 MLPs
          startup --cli PATH [--rounds 7] [--configurations]   1 GiB inspect --stats (fresh process) vs cat + weightspace --help
          merge [--size-gb 2] [--runs 3]   3-model TIES merge vs I/O bound, peak RSS; `merge digits`, `merge onnx`: docs/merging.md tables
        """);
    return 2;
}
