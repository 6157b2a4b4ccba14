using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using WeightSpace.Analysis.Evaluation;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Analysis.Merging.Methods;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Benchmarks;

/// <summary>
/// Issue 4's measurements, three modes:
/// <list type="bullet">
/// <item><c>merge [--size-gb 2] [--runs 3] [--dtype f32|bf16] [--shape llama|uniform] [--method ties,linear] [--dir DIR]</c>:
/// generates a base and three fine-tunes of ≥ 2 GB each (safetensors; Llama-shaped by default for BF16, [4096, 8192]
/// matrices for F32), times each method's I/O bound (plain FileStream reads of its inputs and a plain write + fsync of
/// an output of the same size, once as is and once starting writeback after every 128 MiB as the safetensors writer
/// does) against the 3-model merge (MergeRunner → SafetensorsTensorSink, Commit included), alternately; measures each
/// merge's peak RSS in a child process; deletes everything it generated.</item>
/// <item><c>merge digits</c>: every registered method on the digits MLP fine-tunes, scored on the three test sets
/// (the table in docs/merging.md).</item>
/// <item><c>merge onnx</c>: linear/slerp/ties on Silero VAD v5/v6 and the openWakeWord heads, per-tensor relation of the
/// output to the inputs, and an ONNX Runtime run of the merged weights fed as initializers.</item>
/// </list>
/// </summary>
internal static class MergeBenchmark
{
    public static int Run(string[] args) => args.FirstOrDefault() switch
    {
        "digits" => Digits(args[1..]),
        "onnx" => Onnx(args[1..]),
        "child" => Child(args[1..]),
        _ => Throughput(args),
    };

    // ---------------------------------------------------------------- throughput and memory

    private static int Throughput(string[] args)
    {
        double sizeGb = double.Parse(Option(args, "--size-gb") ?? "2", CultureInfo.InvariantCulture);
        // --dtype bf16 stores every input as BF16 (what LLM checkpoints use): the kernel widens it inside its loads.
        var dtype = (Option(args, "--dtype") ?? "f32").ToLowerInvariant() switch
        {
            "f32" => DType.F32,
            "bf16" => DType.BF16,
            var other => throw new ArgumentException($"--dtype {other}: f32 or bf16"),
        };
        // --shape llama: Llama-3-8B-shaped layers (GQA); uniform: [4096, 8192] matrices and [4096] vectors.
        string shape = (Option(args, "--shape") ?? (dtype == DType.BF16 ? "llama" : "uniform")).ToLowerInvariant();
        if (shape is not ("llama" or "uniform")) throw new ArgumentException($"--shape {shape}: llama or uniform");
        string[] methods = (Option(args, "--method") ?? "ties,linear").ToLowerInvariant().Split(',');
        if (methods.Any(m => m is not ("ties" or "linear"))) throw new ArgumentException("--method: ties, linear or ties,linear");
        int runs = int.Parse(Option(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        string dir = Path.Combine(Option(args, "--dir") ?? Path.GetTempPath(), $"weightspace-merge-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var tensors = shape == "llama" ? LlamaTensors(sizeGb, dtype) : UniformTensors(sizeGb, dtype);
            string[] names = ["base", "ft1", "ft2", "ft3"];
            var paths = names.Select(n => Path.Combine(dir, n + ".safetensors")).ToArray();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < paths.Length; i++) Generate(paths[i], tensors, seed: i);
            double generate = sw.Elapsed.TotalSeconds;
            long outputBytes = new FileInfo(paths[0]).Length;
            long largest = tensors.Max(t => t.ByteCount);
            string output = Path.Combine(dir, "merged.safetensors");
            string plainOut = Path.Combine(dir, "plain.bin");
            string load = File.ReadAllText("/proc/loadavg").Split(' ')[0..3].Aggregate((a, b) => a + " " + b);
            foreach (var p in paths) PlainRead(p);   // warm the page cache alike for all

            // Per method, its own I/O bound: TIES reads the base and three models, linear the three models only.
            var io = methods.ToDictionary(m => m, _ => new List<double>());
            var ioOverlapped = methods.ToDictionary(m => m, _ => new List<double>());
            var merge = methods.ToDictionary(m => m, _ => new List<double>());
            for (int r = 0; r < runs; r++)
                foreach (string method in methods)
                {
                    var inputs = Inputs(method, paths);
                    io[method].Add(Time(() => { foreach (var p in inputs) PlainRead(p); PlainWrite(plainOut, outputBytes, overlapWriteback: false); }));
                    File.Delete(plainOut);
                    ioOverlapped[method].Add(Time(() => { foreach (var p in inputs) PlainRead(p); PlainWrite(plainOut, outputBytes, overlapWriteback: true); }));
                    File.Delete(plainOut);
                    merge[method].Add(Time(() => Merge(method, paths, output)));
                    File.Delete(output);
                }

            // (k + 2) × largest stored tensor: the k models' and the base's mapped views, whose file-backed pages count in
            // VmHWM, and the output blocks in flight; plus 300 MB for the runtime (the child measures ~25 MiB before merging).
            const long runtimeOverhead = 300_000_000;
            long bound = (3 + 2) * largest + runtimeOverhead;
            string layout = shape == "llama"
                ? $"Llama-shaped: {tensors.Count(t => t.Name.EndsWith("q_proj.weight", StringComparison.Ordinal))} layers of q/o [4096, 4096], k/v [1024, 4096], gate/up [14336, 4096], down [4096, 14336], 2 norms; embed_tokens and lm_head [32000, 4096], final norm"
                : $"uniform: {tensors.Count / 2} × ([{UniformRows}, {UniformCols}] + [{UniformRows}])";
            string F(IEnumerable<double> v) => string.Join(", ", v.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)));
            Console.WriteLine($"""
                ### 3-model merges vs I/O bound ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load before {load}, `merge --dtype {dtype.ToSafetensorsName().ToLowerInvariant()} --shape {shape} --method {string.Join(',', methods)} --size-gb {sizeGb.ToString(CultureInfo.InvariantCulture)} --runs {runs}`)
                | measure | value |
                |---|---|
                | inputs | base + 3 models, 4 × {outputBytes / 1e9:F2} GB {dtype.ToSafetensorsName()}, {tensors.Count} tensors each ({layout}); largest {largest / 1e6:F0} MB; generated in {generate:F0} s |
                """);
            foreach (string method in methods)
            {
                long ioBytes = Inputs(method, paths).Sum(p => new FileInfo(p).Length) + outputBytes;
                double ioS = Median(io[method]), ioOverlappedS = Median(ioOverlapped[method]), mergeS = Median(merge[method]);
                var (peak, baseline, allocated, collections) = ChildPeak(method, paths, output);
                Console.WriteLine($"""
                    | {method}: I/O bound (read {Inputs(method, paths).Length} inputs + write/fsync the output), runs | {F(io[method])} s |
                    | {method}: I/O bound with writeback started after every 128 MiB (sync_file_range), runs | {F(ioOverlapped[method])} s |
                    | {method}: MergeRunner (2 workers) → SafetensorsTensorSink + Commit, runs | {F(merge[method])} s |
                    | {method}: throughput (median; input + output bytes): I/O / overlapped I/O / merge | {ioBytes / ioS / 1e9:F2} / {ioBytes / ioOverlappedS / 1e9:F2} / {ioBytes / mergeS / 1e9:F2} GB/s |
                    | **{method}: merge / I/O bound** (target ≥ 0.8) | **{ioS / mergeS:F2}** |
                    | **{method}: merge / overlapped-writeback I/O bound** | **{ioOverlappedS / mergeS:F2}** |
                    | {method}: peak RSS (child VmHWM); before merging; managed allocations, gen-0 GCs | {peak / 1e6:F0} MB; {baseline / 1e6:F0} MB; {allocated / 1e6:F0} MB, {collections} |
                    | {method}: bound (k + 2) × largest + 300 MB = 5 × {largest / 1e6:F0} MB + 300 MB | {bound / 1e6:F0} MB ({(peak <= bound ? "within" : "EXCEEDED")}) |
                    """);
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string[] Inputs(string method, string[] paths) => method == "linear" ? paths[1..] : paths;

    private static (long Peak, long Baseline, long Allocated, long Collections) ChildPeak(string method, string[] paths, string output)
    {
        var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["merge", "child", method, .. paths, output]) { RedirectStandardOutput = true })!;
        string childOut = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        File.Delete(output);
        var parts = childOut.Trim().Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (parts[0], parts[1], parts[2], parts[3]);
    }

    private static int Child(string[] args)
    {
        long baseline = ProcessMemory.ResidentBytes();
        Merge(args[0], args[1..^1], args[^1]);
        Console.WriteLine($"{ProcessMemory.PeakResidentBytes()} {baseline} {GC.GetTotalAllocatedBytes()} {GC.CollectionCount(0)}");
        return 0;
    }

    // TIES: base + 3 models, weight 1, density 0.5. Linear: the 3 models, weight 1 each (normalised), no base, as mergekit.
    private static void Merge(string method, string[] paths, string output)
    {
        var stores = new Dictionary<string, TensorStore>();
        try
        {
            string[] keys = ["base", "ft1", "ft2", "ft3"];
            for (int i = 0; i < paths.Length; i++) stores[keys[i]] = Checkpoint.Open(paths[i]);
            var builder = new MergeConfigBuilder(method);
            if (method == "ties") builder.WithBase("base");
            var perModel = method == "ties" ? new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.5 } : new Dictionary<string, double> { ["weight"] = 1 };
            foreach (string k in keys[1..]) builder.AddModel(k, perModel);
            var plan = MergePlan.Create(builder.Build(), stores);
            using var sink = new SafetensorsTensorSink(output, plan.Outputs, new SafetensorsWriteOptions { Metadata = new Dictionary<string, string> { ["format"] = "pt" } });
            MergeRunner.Run(plan, sink, maxParallelism: 2);
            sink.Commit();
        }
        finally
        {
            foreach (var s in stores.Values) s.Dispose();
        }
    }

    private const long UniformRows = 4096, UniformCols = 8192;

    private static List<TensorInfo> UniformTensors(double sizeGb, DType dtype)
    {
        int layers = Math.Max(1, (int)Math.Ceiling(sizeGb * 1e9 / ((UniformRows * UniformCols + UniformRows) * dtype.SizeInBytes())));
        var tensors = new List<TensorInfo>();
        for (int i = 0; i < layers; i++)
        {
            tensors.Add(new TensorInfo($"model.layers.{i}.mlp.weight", dtype, new Shape(UniformRows, UniformCols)));
            tensors.Add(new TensorInfo($"model.layers.{i}.norm.weight", dtype, new Shape(UniformRows)));
        }
        return tensors;
    }

    // Llama-3-8B's shapes and Hugging Face names (hidden 4096, GQA with 8 of 32 heads for k/v, MLP 14336), Llama-2's
    // 32000-token vocabulary; as many layers as reach the size.
    private static List<TensorInfo> LlamaTensors(double sizeGb, DType dtype)
    {
        const long hidden = 4096, kv = 1024, mlp = 14336, vocab = 32000;
        long layerElements = 2 * hidden * hidden + 2 * kv * hidden + 3 * mlp * hidden + 2 * hidden;
        long fixedElements = 2 * vocab * hidden + hidden;
        int layers = Math.Max(1, (int)Math.Ceiling((sizeGb * 1e9 / dtype.SizeInBytes() - fixedElements) / layerElements));
        var tensors = new List<TensorInfo> { new("model.embed_tokens.weight", dtype, new Shape(vocab, hidden)) };
        for (int i = 0; i < layers; i++)
        {
            string p = $"model.layers.{i}.";
            tensors.Add(new TensorInfo(p + "self_attn.q_proj.weight", dtype, new Shape(hidden, hidden)));
            tensors.Add(new TensorInfo(p + "self_attn.k_proj.weight", dtype, new Shape(kv, hidden)));
            tensors.Add(new TensorInfo(p + "self_attn.v_proj.weight", dtype, new Shape(kv, hidden)));
            tensors.Add(new TensorInfo(p + "self_attn.o_proj.weight", dtype, new Shape(hidden, hidden)));
            tensors.Add(new TensorInfo(p + "mlp.gate_proj.weight", dtype, new Shape(mlp, hidden)));
            tensors.Add(new TensorInfo(p + "mlp.up_proj.weight", dtype, new Shape(mlp, hidden)));
            tensors.Add(new TensorInfo(p + "mlp.down_proj.weight", dtype, new Shape(hidden, mlp)));
            tensors.Add(new TensorInfo(p + "input_layernorm.weight", dtype, new Shape(hidden)));
            tensors.Add(new TensorInfo(p + "post_attention_layernorm.weight", dtype, new Shape(hidden)));
        }
        tensors.Add(new TensorInfo("model.norm.weight", dtype, new Shape(hidden)));
        tensors.Add(new TensorInfo("lm_head.weight", dtype, new Shape(vocab, hidden)));
        return tensors;
    }

    // Base: N(0, 0.02)-ish uniform values; a fine-tune adds a sparse-ish perturbation of 1e-3 scale, so TIES has
    // realistic sign conflicts. Blocks of 1 Mi floats are reused to keep generation I/O bound.
    private static void Generate(string path, List<TensorInfo> tensors, int seed)
    {
        var baseRng = new Random(42);
        var block = new float[1 << 20];
        for (int i = 0; i < block.Length; i++) block[i] = (float)((baseRng.NextDouble() - 0.5) * 0.04);
        if (seed > 0)
        {
            var rng = new Random(seed);
            var delta = new float[block.Length];
            for (int i = 0; i < delta.Length; i++) delta[i] = (float)((rng.NextDouble() - 0.5) * 2e-3);
            TensorPrimitives.Add(block, delta, block);
        }
        using var writer = SafetensorsWriter.Create(path, tensors);
        foreach (var info in tensors)
        {
            for (long off = 0; off < info.ElementCount; off += block.Length)
            {
                int n = (int)Math.Min(block.Length, info.ElementCount - off);
                writer.Write(info.Name, off, block.AsSpan(0, n));   // encoded as the declared dtype
            }
        }
        writer.Commit();
    }

    private static void PlainRead(string path)
    {
        var buffer = new byte[4 << 20];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        while (stream.Read(buffer) > 0) { }
    }

    private static void PlainWrite(string path, long bytes, bool overlapWriteback)
    {
        var buffer = new byte[4 << 20];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        const long step = 128L << 20;
        for (long done = 0; done < bytes; done += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, bytes - done);
            stream.Write(buffer, 0, n);
            // What the safetensors writer does after each large tensor: start the disk on what is written so far.
            if (overlapWriteback && OperatingSystem.IsLinux() && (done + n) % step == 0)
                _ = SyncFileRange((int)stream.SafeFileHandle.DangerousGetHandle(), done + n - step, step, 2);
        }
        stream.Flush(flushToDisk: true);
    }

    [DllImport("libc", EntryPoint = "sync_file_range")]
    private static extern int SyncFileRange(int fd, long offset, long length, uint flags);

    // ---------------------------------------------------------------- digits table

    private static int Digits(string[] args)
    {
        string data = Option(args, "--data") ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/data"));
        if (!Directory.Exists(data)) data = "/work/shared/data";
        // Test split as the generator made it: rows with index % 5 == 0, pixels / 16; then mirrored and inverted copies.
        var all = DatasetLoader.LoadIdx(Path.Combine(data, "datasets/sklearn/digits-images-idx3-ubyte"),
            Path.Combine(data, "datasets/sklearn/digits-labels-idx1-ubyte")).Scale(1f / 16);
        var test = all.Select(Enumerable.Range(0, all.Count).Where(i => i % 5 == 0).ToArray());
        var sets = new[] { test, ImageTransforms.MirrorLeftRight(test), ImageTransforms.Invert(test) };
        string M(string n) => Path.Combine(data, $"digits_mlp/mlp_{n}.safetensors");
        var stores = new Dictionary<string, TensorStore>
        {
            ["seed0"] = Checkpoint.Open(M("seed0")), ["ft_fliplr"] = Checkpoint.Open(M("ft_fliplr")), ["ft_invert"] = Checkpoint.Open(M("ft_invert")),
        };
        Console.WriteLine("| method | parameters | original | fliplr | invert | average |");
        Console.WriteLine("|---|---|---|---|---|---|");
        void Row(string method, string parameters, TensorStore weights)
        {
            var evaluator = new TorchModelEvaluator(NetworkArchitecture.Mlp(weights));
            var acc = sets.Select(s => evaluator.Evaluate(weights, s).Accuracy).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {method} | {parameters} | {acc[0]:F3} | {acc[1]:F3} | {acc[2]:F3} | {acc.Average():F3} |"));
        }
        foreach (var (name, store) in stores) Row($"({name} alone)", "—", store);
        foreach (var (name, method) in MergeMethods.All.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var (builder, described) = DigitsConfig(method);
            var plan = MergePlan.Create(builder.Build(), stores);
            var sink = new MemorySink(plan.Outputs);
            MergeRunner.Run(plan, sink);
            Row(name, described, sink.Store);
        }
        foreach (var s in stores.Values) s.Dispose();
        return 0;
    }

    /// <summary>One documented parameter set per method: weight 1 per model, density 0.5 where it applies, λ = 1 (default),
    /// seed 0; methods that merge exactly one model into a base (slerp) interpolate ft_fliplr → ft_invert at t = 0.5;
    /// passthrough copies ft_fliplr; methods without a base role merge the two fine-tunes alone.</summary>
    private static (MergeConfigBuilder, string) DigitsConfig(IMergeMethod method)
    {
        var names = method.Parameters.Select(p => p.Name).ToHashSet();
        var perModel = new Dictionary<string, double>();
        var text = new List<string>();
        if (names.Contains("weight")) { perModel["weight"] = 1; text.Add("weight 1 each"); }
        if (names.Contains("density")) { perModel["density"] = 0.5; text.Add("density 0.5"); }
        MergeConfigBuilder b;
        if (method.MaximumModels == 1 && method.BaseModel == BaseModelRole.Required)
        {
            b = new MergeConfigBuilder(method.Name).WithBase("ft_fliplr").AddModel("ft_invert", perModel);
            text.Insert(0, "ft_fliplr → ft_invert");
        }
        else if (method.MaximumModels == 1)
        {
            b = new MergeConfigBuilder(method.Name).AddModel("ft_fliplr", perModel);
            text.Insert(0, "ft_fliplr only");
        }
        else
        {
            b = new MergeConfigBuilder(method.Name);
            if (method.BaseModel != BaseModelRole.Ignored) { b.WithBase("seed0"); text.Insert(0, "base seed0"); }
            else text.Insert(0, "no base");
            b.AddModel("ft_fliplr", perModel).AddModel("ft_invert", perModel);
        }
        if (names.Contains("t")) { b.Set("t", 0.5); text.Add("t 0.5"); }
        return (b.WithSeed(0), string.Join(", ", text));
    }

    /// <summary>Collects a merge's float outputs into an in-memory store for evaluation.</summary>
    private sealed class MemorySink(IReadOnlyList<TensorInfo> outputs) : ITensorSink
    {
        private readonly Dictionary<string, TensorInfo> _outputs = outputs.ToDictionary(o => o.Name);
        public InMemoryTensorStore Store { get; } = new("merged");
        public void Write(string name, ReadOnlySpan<float> values) => Store.Add(name, values, _outputs[name].Shape.ToArray());
        public void WriteBytes(string name, ReadOnlySpan<byte> values) => Store.Add(_outputs[name], values);
    }

    // ---------------------------------------------------------------- ONNX models

    private static int Onnx(string[] args)
    {
        string data = Option(args, "--data") ?? "/work/shared/data";
        var pairs = new (string Label, string A, string B)[]
        {
            ("Silero VAD v5 → v6", "onnx/silero_vad/silero_vad_v5.onnx", "onnx/silero_vad/silero_vad_v6.onnx"),
            ("openWakeWord hello_deepa_old → namaste_deepa", "onnx/openwakeword/hello_deepa_old.onnx", "onnx/openwakeword/namaste_deepa.onnx"),
        };
        foreach (var (label, ra, rb) in pairs)
        {
            string pa = Path.Combine(data, ra), pb = Path.Combine(data, rb);
            using var a = Checkpoint.Open(pa);
            using var b = Checkpoint.Open(pb);
            var stores = new Dictionary<string, TensorStore> { ["a"] = a, ["b"] = b };
            Console.WriteLine($"#### {label}");
            Console.WriteLine();
            using (var sa = new OnnxProbeSession(pa, null))
            using (var sbAsA = new OnnxProbeSession(pa, b))
            using (var sb = new OnnxProbeSession(pb, null))
            {
                float[] ya = sa.RunOnProbe(1, Probe), yb = sb.RunOnProbe(1, Probe), ybInA = sbAsA.RunOnProbe(1, Probe);
                if (sbAsA.Replaced == 0)
                    Console.WriteLine("ORT check: the graph has no float initializers to replace (its weights are Constant nodes, "
                        + $"{((Formats.Onnx.OnnxModel)a).Weights.Count(w => w.GraphPath != "graph")} of {a.Tensors.Count} inside If subgraphs), so merged weights cannot be fed to ONNX Runtime without rewriting the graph.");
                else
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ORT check: B's {sbAsA.Replaced} float initializers fed into A's graph reproduce B's output on a probe input: max |Δ| = {MaxAbsDiff(yb, ybInA):G3} (A vs B outputs differ by {MaxAbsDiff(ya, yb):G3})."));
            }
            Console.WriteLine();
            Console.WriteLine("| method | tensors merged | ‖m−a‖/‖b−a‖ median [min, max] | cos(m−a, b−a) median [min] | ‖m‖/‖a‖ median [min, max] | ORT probe output: A, B, merged |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var (method, builder) in new (string, MergeConfigBuilder)[]
            {
                ("linear 0.5/0.5", new MergeConfigBuilder("linear").AddModel("a", W(1)).AddModel("b", W(1))),
                ("slerp t 0.5", new MergeConfigBuilder("slerp").WithBase("a").AddModel("b").Set("t", 0.5)),
                ("ties density 0.5 (base a)", new MergeConfigBuilder("ties").WithBase("a").AddModel("b", new Dictionary<string, double> { ["weight"] = 1, ["density"] = 0.5 })),
            })
            {
                var plan = MergePlan.Create(builder.Build(), stores);
                var sink = new MemorySink(plan.Outputs);
                MergeRunner.Run(plan, sink);
                var ratio = new List<double>();
                var cos = new List<double>();
                var norm = new List<double>();
                foreach (var info in plan.Outputs.Where(o => o.DType.IsFloatingPoint()))
                {
                    float[] x = a.ReadSingle(info.Name), y = b.ReadSingle(info.Name), m = sink.Store.ReadSingle(info.Name);
                    var ba = new float[x.Length];
                    var ma = new float[x.Length];
                    TensorPrimitives.Subtract(y, x, ba);
                    TensorPrimitives.Subtract(m, x, ma);
                    double nba = TensorPrimitives.Norm(ba), nma = TensorPrimitives.Norm(ma), na = TensorPrimitives.Norm(x);
                    if (nba > 0) { ratio.Add(nma / nba); if (nma > 0) cos.Add(TensorPrimitives.Dot(ma, ba) / (nma * nba)); }
                    if (na > 0) norm.Add(TensorPrimitives.Norm(m) / na);
                }
                string probe;
                try
                {
                    using var sa = new OnnxProbeSession(pa, null);
                    using var sb = new OnnxProbeSession(pb, null);
                    using var sm = new OnnxProbeSession(pa, sink.Store);
                    probe = sm.Replaced == 0 ? "not evaluated (no initializers)" : string.Create(CultureInfo.InvariantCulture, $"{sa.RunOnProbe(1, Probe)[0]:G4}, {sb.RunOnProbe(1, Probe)[0]:G4}, {sm.RunOnProbe(1, Probe)[0]:G4}");
                }
                catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or WeightSpaceException) { probe = "ORT failed: " + e.Message; }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {method} | {ratio.Count} of {plan.Outputs.Count} | {Med(ratio):F3} [{ratio.DefaultIfEmpty().Min():F3}, {ratio.DefaultIfEmpty().Max():F3}] | {Med(cos):F3} [{cos.DefaultIfEmpty().Min():F3}] | {Med(norm):F3} [{norm.DefaultIfEmpty().Min():F3}, {norm.DefaultIfEmpty().Max():F3}] | {probe} |"));
            }
            Console.WriteLine();
        }
        return 0;

        static Dictionary<string, double> W(double w) => new() { ["weight"] = w };
    }

    // Silero VAD takes 512 samples at 16 kHz and a [2, 1, 128] state; the openWakeWord heads have fixed shapes.
    private static readonly Dictionary<string, long[]> Probe = new() { ["input"] = [1, 512], ["state"] = [2, 1, 128] };

    private static double Med(List<double> v) => v.Count == 0 ? double.NaN : v.Order().ElementAt(v.Count / 2);

    private static double MaxAbsDiff(float[] x, float[] y) => x.Length != y.Length ? double.NaN : x.Zip(y).Max(p => Math.Abs((double)p.First - p.Second));

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
