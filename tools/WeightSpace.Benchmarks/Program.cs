using WeightSpace.Benchmarks;

// Usage: dotnet run -c Release --project tools/WeightSpace.Benchmarks -- <benchmark> [options]
// Each benchmark prints a markdown block for docs/benchmarks.md with its baseline measured in the same run.
return args.FirstOrDefault() switch
{
    "scan" => ScanBenchmark.Run(args[1..]),
    "scan-child" => ScanBenchmark.RunChild(args[1..]),
    "stats-kernel" => ScanBenchmark.RunKernel(),
    "spectrum" => SpectrumBenchmark.Run(args[1..]),
    "spectrum-eig" => SpectrumEigenBenchmark.Run(args[1..]),
    "spectrum-resume" => SpectrumResumeBenchmark.Run(args[1..]),
    "spectrum-7b" => Spectrum7BBenchmark.Run(args[1..]),
    "lap" => LapBenchmark.Run(args[1..]),
    "merge" => MergeBenchmark.Run(args[1..]),
    "slurm-scaling" => SlurmScalingBenchmark.Run(args[1..]),
    "dequant" => DequantBenchmark.Run(args[1..]),
    "llm" => LanguageModelBenchmark.Run(args[1..]),
    "lora-extract" => LoraBenchmark.Run(args[1..]),
    "startup" => StartupBenchmark.Run(args[1..]),
    "transformer-view" => TransformerViewBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: WeightSpace.Benchmarks <benchmark> [options]
          scan [--size-gb 3] [--dir DIR]   inspect (headers) and --stats scan vs plain reading, peak RSS
          spectrum [--rounds 3] [--threads N] [--no-4096] SpectrumAnalyzer.Analyze vs bare svdvals on the same layers; KS search vs SVD
          spectrum-eig [--rounds 3] [--threads N] [--shapes 4096x4096,11008x4096,4096x11008]   Gram+eigvalsh vs svdvals per Llama-7B shape (BF16), error vs float64
          spectrum-7b [--blocks 32] [--dir DIR]   generated Llama-7B-shaped BF16 checkpoint, spectrum defaults in a child: time, peak RSS
          spectrum-resume [--rounds 3] [--threads N] [--side 1024]   --cache run cancelled halfway + resumed vs uninterrupted
          lap [--sizes 512,1024,2048] [--repeats 3]   LAP solve vs float64 n³ matmul; weight matching of 3×512 MLPs
          slurm-scaling --weightspace PATH [--matrices 16] [--size 1024]   sharded spectrum on a one-node Slurm, 1/2/4 tasks; 70B/400B projection
          dequant [--size-gb 1] [--rounds 5]   GGUF Q4_K_M-mix dequantisation to float32 vs a plain copy of the same bytes
          llm [--tokens 512] [--layers 16] [--rounds 3] [--threads N]   1B-shaped Llama forward (tokens/s) vs its matmuls alone
          lora-extract [--layers 2] [--runs 2] [--rank 64]   rank-64 adapter from 7B-shaped layers vs read + ΔW, peak RSS
          startup --cli PATH [--rounds 7] [--configurations]   1 GiB inspect --stats (fresh process) vs cat + weightspace --help
          transformer-view [--layers 1] [--runs 1] [--modes read-attention,heads,svdvals,ranks,read-all,neurons,outliers]   heads, rank profile, neurons, outliers of 7B-shaped layers vs reading / bare svdvals, peak RSS
          merge [--size-gb 2] [--runs 3] [--dtype f32|bf16] [--shape llama|uniform] [--method ties,linear]   3-model merges vs I/O bound, peak RSS; `merge digits`, `merge onnx`: docs/merging.md tables
        """);
    return 2;
}
