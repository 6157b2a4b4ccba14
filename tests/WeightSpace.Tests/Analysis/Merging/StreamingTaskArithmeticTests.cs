using System.Runtime.InteropServices;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Kernels;
using WeightSpace.Analysis.Merging.Methods;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>The streaming kernel (read-only inputs, thresholds from sampled bands, exact election pass) against the
/// in-place path it replaces for ties and task_arithmetic: every output bit must agree.</summary>
public sealed unsafe class StreamingTaskArithmeticTests
{
    private static IStreamingMergeMethod Method(string name) => (IStreamingMergeMethod)MergeMethods.Get(name);

    private static (float[] Base, float[][] Models) Data(int n, int models, int seed, bool coarse)
    {
        var rng = new Random(seed);
        var theta0 = new float[n];
        for (int i = 0; i < n; i++) theta0[i] = (float)(rng.NextDouble() * 2 - 1);
        var result = new float[models][];
        for (int m = 0; m < models; m++)
        {
            result[m] = new float[n];
            for (int i = 0; i < n; i++)
            {
                // Coarse steps give many equal |τ| (ties at the threshold); fine ones a continuous distribution.
                float delta = coarse ? rng.Next(-20, 21) / 64f : (float)(rng.NextDouble() - 0.5) * 0.1f;
                result[m][i] = theta0[i] + delta;
            }
        }
        return (theta0, result);
    }

    private static float[] InPlace(IStreamingMergeMethod method, MergeParameters p, float[] theta0, float[][] models, float[]? thresholds)
    {
        var info = new TensorInfo("w", DType.F32, new Shape(theta0.Length));
        var inputs = new MergeInputs(info, (float[])theta0.Clone(), models.Select(x => (Memory<float>)(float[])x.Clone()).ToArray(), p, 0, thresholds);
        var result = new float[theta0.Length];
        method.Merge(inputs, result);
        return result;
    }

    private static (float[] Result, StreamingMergeResult Kernel) Streaming(IStreamingMergeMethod method, MergeParameters p, float[] theta0, float[][] models, float[]? thresholds)
    {
        var info = new TensorInfo("w", DType.F32, new Shape(theta0.Length));
        var result = new float[theta0.Length];
        var handles = models.Prepend(theta0).Append(result).Select(a => GCHandle.Alloc(a, GCHandleType.Pinned)).ToArray();
        try
        {
            var pointers = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            var before = models.Select(x => (float[])x.Clone()).ToArray();
            var kernel = method.MergeReadOnly(info, p, thresholds, pointers[0], pointers[1..^1], pointers[^1]);
            for (int m = 0; m < models.Length; m++) Assert.Equal(before[m], models[m]);   // inputs are read only
            return (result, kernel);
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    private static void BitEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i}: in place {expected[i]:R}, streaming {actual[i]:R}");
    }

    public static TheoryData<string, string, int, bool, double> Cases() => new()
    {
        { "ties", "mergekit", 5_000, false, 0.3 },
        { "ties", "mergekit", 5_000, true, 0.3 },
        { "ties", "mergekit", 300_001, false, 0.5 },
        { "ties", "mergekit", 300_001, true, 0.5 },
        { "ties", "mergekit", 70_000, false, 0.001 },
        { "ties", "mergekit", 70_000, true, 0.999 },
        { "ties", "mergekit", 40_000, false, 0.0 },
        { "ties", "mergekit", 40_000, false, 1.0 },
        { "ties", "mergekit", 37, true, 0.5 },
        { "ties", "mergekit", 3, false, 0.5 },
        { "ties", "mergekit", 1, false, 0.5 },
        { "ties", "paper", 300_001, true, 0.4 },
        { "ties", "paper", 5_000, false, 0.2 },
        { "task_arithmetic", "mergekit", 300_001, false, 1.0 },
        { "task_arithmetic", "mergekit", 13, true, 1.0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MergeReadOnly_EqualsInPlaceMerge_BitForBit(string name, string semantics, int n, bool coarse, double density)
    {
        var method = Method(name);
        double[] weights = [1.0, -0.4, 2.5];
        foreach (bool normalize in new[] { true, false })
        {
            var (theta0, models) = Data(n, 3, seed: n + (coarse ? 1 : 0), coarse);
            var settings = new Dictionary<string, double[]> { ["weight"] = weights, ["normalize"] = [normalize ? 1 : 0], ["lambda"] = [0.75] };
            if (name == "ties") settings["density"] = [density, density / 2, Math.Min(1, density * 1.5)];
            if (semantics == "paper") settings["semantics"] = [1];   // choice index: mergekit 0, paper 1
            var p = MergeParameters.Create(method.Parameters, 3, settings);
            // Paper semantics trims against model-wide thresholds; for one tensor those are its own |τ| quantiles.
            float[]? thresholds = semantics == "paper"
                ? Enumerable.Range(0, 3).Select(i => Quantile(theta0, models[i], p.PerModel("density", i))).ToArray()
                : null;
            var expected = InPlace(method, p, theta0, models, thresholds);
            var (actual, _) = Streaming(method, p, theta0, models, thresholds);
            BitEqual(expected, actual, $"{name} {semantics} n={n} normalize={normalize}");
        }
    }

    [Theory]
    [InlineData("frozen")]
    [InlineData("special")]
    [InlineData("quantized")]
    [InlineData("two-levels")]
    public void MergeReadOnly_OnDegenerateTaskVectors_EqualsInPlaceMerge(string kind)
    {
        // frozen: one fine-tune equals the base (τ ≡ +0, every |τ| tied: a single-key band, counted, not collected);
        // special: NaN, ±∞, −0 and subnormal deltas; quantized: four distinct |τ| values (single-key bands with partly
        // kept ties); two-levels: half the |τ| at 0.25 and half at 0.5, so at density ½ the band spans both keys, holds
        // every entry and must overflow into the exact fallback.
        const int n = 200_003;
        var method = Method("ties");
        var (theta0, models) = Data(n, 3, seed: 3, coarse: false);
        var rng = new Random(9);
        switch (kind)
        {
            case "frozen":
                models[1] = (float[])theta0.Clone();
                break;
            case "special":
                float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, -float.Epsilon];
                for (int e = 0; e < 500; e++) models[rng.Next(3)][rng.Next(n)] = specials[rng.Next(specials.Length)];
                break;
            case "two-levels":
                Array.Clear(theta0);   // θ₀ = 0 keeps |τ| at exactly two values
                for (int m = 0; m < 3; m++)
                    for (int i = 0; i < n; i++) models[m][i] = theta0[i] + ((i * 7 + m) % 2 == 0 ? 0.25f : 0.5f) * (rng.Next(2) == 0 ? -1 : 1);
                break;
            case "quantized":
                for (int m = 0; m < 3; m++)
                    for (int i = 0; i < n; i++) models[m][i] = theta0[i] + (rng.Next(4) + 1) * (rng.Next(2) == 0 ? -0.25f : 0.25f);
                break;
        }
        foreach (double density in new[] { 0.1, 0.5, 0.9 })
        {
            var p = MergeParameters.Create(method.Parameters, 3, new Dictionary<string, double[]> { ["weight"] = [1, 0.5, 2], ["density"] = [density] });
            var expected = InPlace(method, p, theta0, models, null);
            var (actual, kernel) = Streaming(method, p, theta0, models, null);
            BitEqual(expected, actual, $"{kind} density {density}");
            if (kind == "frozen") Assert.Equal(0, kernel.BandMisses);
            if (kind == "two-levels" && density == 0.5) Assert.True(kernel.BandMisses >= 1, "a band holding every entry should overflow into the exact fallback");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Linear_StreamingWithoutABase_EqualsInPlaceMerge(bool normalize)
    {
        var method = Method("linear");
        var (_, models) = Data(300_001, 3, seed: 17, coarse: false);
        models[2][5] = float.NaN;
        models[1][6] = -0f;
        models[0][7] = float.NegativeInfinity;
        var p = MergeParameters.Create(method.Parameters, 3, new Dictionary<string, double[]> { ["weight"] = [0.5, -0.25, 2], ["normalize"] = [normalize ? 1 : 0] });
        var info = new TensorInfo("w", DType.F32, new Shape(models[0].Length));
        var inputs = new MergeInputs(info, Memory<float>.Empty, models.Select(x => (Memory<float>)(float[])x.Clone()).ToArray(), p, 0);
        var expected = new float[models[0].Length];
        method.Merge(inputs, expected);
        var actual = new float[expected.Length];
        var handles = models.Append(actual).Select(a => GCHandle.Alloc(a, GCHandleType.Pinned)).ToArray();
        try
        {
            var pointers = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            method.MergeReadOnly(info, p, null, 0, pointers[..^1], pointers[^1]);
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
        BitEqual(expected, actual, $"linear normalize={normalize}");
    }

    [Theory]
    [InlineData("BF16", "BF16")]
    [InlineData("F16", "F16")]
    [InlineData("F32", "BF16")]
    [InlineData("BF16", "F64")]
    public void MergeReadOnly_OnStoredDTypes_ConvertsChunkwiseAndEqualsInPlaceMerge(string baseType, string modelType)
    {
        // Inputs kept in their stored dtype are widened a chunk at a time inside the kernel; the result must equal the
        // in-place merge of the same values converted to float32 first. 300,001 elements: two chunks, one partial.
        var method = Method("ties");
        var (theta0, models) = Data(300_001, 3, seed: 23, coarse: false);
        var bt = Enum.Parse<DType>(baseType);
        var mt = Enum.Parse<DType>(modelType);
        byte[] Encode(float[] v, DType t)
        {
            var bytes = new byte[v.Length * t.SizeInBytes()];
            DTypeConversion.FromSingle(v, t, bytes);
            return bytes;
        }
        float[] Decode(byte[] b, DType t, int n)
        {
            var v = new float[n];
            DTypeConversion.ToSingle(b, t, v);
            return v;
        }
        int n = theta0.Length;
        byte[] baseBytes = Encode(theta0, bt);
        byte[][] modelBytes = models.Select(x => Encode(x, mt)).ToArray();
        var p = MergeParameters.Create(method.Parameters, 3, new Dictionary<string, double[]> { ["weight"] = [1, 0.5, -0.75], ["density"] = [0.3, 0.5, 0.8] });
        var expected = InPlace(method, p, Decode(baseBytes, bt, n), modelBytes.Select(b => Decode(b, mt, n)).ToArray(), null);
        var actual = new float[n];
        var handles = modelBytes.Prepend(baseBytes).Select(a => GCHandle.Alloc(a, GCHandleType.Pinned)).ToArray();
        var output = GCHandle.Alloc(actual, GCHandleType.Pinned);
        try
        {
            var info = new TensorInfo("w", DType.F32, new Shape(n));
            var inputs = handles.Select((h, i) => new StreamInput(h.AddrOfPinnedObject(), i == 0 ? bt : mt)).ToArray();
            // 16-bit inputs make few distinct |τ| values, so a band may overflow into the exact fallback: either way the
            // result must be exact.
            method.MergeReadOnly(info, p, null, inputs[0], inputs[1..], output.AddrOfPinnedObject());
        }
        finally
        {
            foreach (var h in handles) h.Free();
            output.Free();
        }
        BitEqual(expected, actual, $"{baseType} base, {modelType} models");
    }

    private static float Quantile(float[] theta0, float[] model, double density)
    {
        var tau = model.Select((x, i) => MathF.Abs(x - theta0[i])).OrderByDescending(x => x).ToArray();
        return tau[Math.Clamp((int)(density * tau.Length) - 1, 0, tau.Length - 1)];
    }

    [Fact]
    public void Merge_WhenBandsMissTheirThreshold_FallsBackToExactThresholdsAndStillAgrees()
    {
        // Zero-width bands (no σ margin) from a 16-entry sample miss often; the count check must catch every miss.
        var method = Method("ties");
        int misses = 0;
        for (int seed = 0; seed < 24; seed++)
        {
            var (theta0, models) = Data(4_000, 2, seed, coarse: seed % 2 == 0);
            var p = MergeParameters.Create(method.Parameters, 2, new Dictionary<string, double[]> { ["weight"] = [1], ["density"] = [0.4, 0.7] });
            var expected = InPlace(method, p, theta0, models, null);
            var actual = new float[theta0.Length];
            fixed (float* b = theta0, x = models[0], y = models[1], d = actual)
            {
                var kernel = new StreamingTaskArithmetic { Combination = new TaskVectorCombination(true, false, true, 1f, [1f, 1f]), SampleSize = 16, BandSigmas = 0 };
                misses += kernel.Merge((nint)b, [(nint)x, (nint)y], theta0.Length, [new TrimRule(TrimKind.TopK, 1_600), new TrimRule(TrimKind.TopK, 2_800)], (nint)d).BandMisses;
            }
            BitEqual(expected, actual, $"seed {seed}");
        }
        Assert.True(misses > 0, "no band missed: the fallback was not exercised");
    }

    [Fact]
    public void Merge_OnRealisticData_BandsHoldTheirThresholds()
    {
        var method = Method("ties");
        var (theta0, models) = Data(1 << 20, 3, 5, coarse: false);
        var p = MergeParameters.Create(method.Parameters, 3, new Dictionary<string, double[]> { ["weight"] = [1], ["density"] = [0.5] });
        var (_, kernel) = Streaming(method, p, theta0, models, null);
        Assert.Equal(0, kernel.BandMisses);
    }

    [Fact]
    public void Run_FromMappedSafetensors_EqualsRunFromMemory()
    {
        // Mapped F32 inputs go to the kernel (or a read-only method) without a copy; BF16 ones are converted; in-memory
        // stores are copied.
        const int n = 3 * (1 << 18) + 5;
        var (theta0, models) = Data(n, 2, 11, coarse: false);
        string folder = SharedData.TempFolder();
        var memory = new Dictionary<string, TensorStore>();
        var files = new Dictionary<string, TensorStore>();
        var named = models.Prepend(theta0).ToArray();
        for (int i = 0; i < named.Length; i++)
        {
            string path = Path.Combine(folder, $"m{i}.safetensors");
            var plan = new[] { new TensorInfo("w", DType.F32, new Shape(n)), new TensorInfo("v", DType.BF16, new Shape(n)) };
            using (var writer = SafetensorsWriter.Create(path, plan))
            {
                writer.Write("w", named[i]);
                writer.Write("v", named[i]);
                writer.Commit();
            }
            files[$"m{i}"] = Checkpoint.Open(path);
            memory[$"m{i}"] = new InMemoryTensorStore($"m{i}").Add("w", named[i], n).Add("v", files[$"m{i}"].ReadSingle("v"), n);
        }
        try
        {
            foreach (string name in new[] { "ties", "task_arithmetic", "linear", "slerp", "passthrough" })
            {
                var builder = new MergeConfigBuilder(name).WithBase("m0");
                builder.AddModel("m1", new Dictionary<string, double> { ["weight"] = 0.7, ["density"] = 0.6 });
                builder.AddModel("m2", new Dictionary<string, double> { ["weight"] = 0.3, ["density"] = 0.4 });
                if (name == "task_arithmetic") builder = Rebuild(name);
                // slerp and passthrough only read their inputs: the runner hands them the mapped views themselves.
                if (name == "slerp") builder = new MergeConfigBuilder(name).WithBase("m0").AddModel("m1").Set("t", 0.3);
                if (name == "passthrough") builder = new MergeConfigBuilder(name).AddModel("m2").Set("scale", 0.5);
                if (name == "linear")
                {
                    builder = new MergeConfigBuilder(name);
                    foreach (string m in new[] { "m0", "m1", "m2" }) builder.AddModel(m, new Dictionary<string, double> { ["weight"] = m == "m1" ? 2 : 1 });
                }
                var fromFiles = new CollectingSink();
                var fromMemory = new CollectingSink();
                MergeRunner.Run(MergePlan.Create(builder.Build(), files), fromFiles, 2, ct: TestContext.Current.CancellationToken);
                MergeRunner.Run(MergePlan.Create(builder.Build(), memory), fromMemory, 1, ct: TestContext.Current.CancellationToken);
                foreach (string tensor in new[] { "w", "v" }) BitEqual(fromMemory.Floats[tensor], fromFiles.Floats[tensor], $"{name} {tensor}");
            }
        }
        finally
        {
            foreach (var s in files.Values) s.Dispose();
        }

        static MergeConfigBuilder Rebuild(string name)
        {
            var b = new MergeConfigBuilder(name).WithBase("m0");
            b.AddModel("m1", new Dictionary<string, double> { ["weight"] = 0.7 });
            b.AddModel("m2", new Dictionary<string, double> { ["weight"] = 0.3 });
            return b;
        }
    }

    [Fact]
    public void Run_IntoSafetensorsSink_WritesTheSameBlocksAsTheWholeTensorPath()
    {
        // The safetensors sink takes outputs in parts from the kernel's threads; F32 and BF16 outputs, a tensor that is
        // not a whole number of blocks, and a copied integer tensor must come out as the collecting sink sees them.
        const int n = 5 * (1 << 18) + 3;
        var (theta0, models) = Data(n, 3, 21, coarse: true);
        var stores = new Dictionary<string, TensorStore>();
        var named = models.Prepend(theta0).ToArray();
        for (int i = 0; i < named.Length; i++)
        {
            var store = new InMemoryTensorStore($"m{i}").Add("w", named[i], n).Add("small", named[i].AsSpan(0, 100), 100);
            store.Add(new TensorInfo("steps", DType.I64, new Shape(2)), BitConverter.GetBytes(7L).Concat(BitConverter.GetBytes(1L << 40)).ToArray());
            stores[$"m{i}"] = store;
        }
        foreach (var outType in new DType?[] { null, DType.BF16 })
        {
            var builder = new MergeConfigBuilder("ties").WithBase("m0").WithDTypes(null, outType);
            for (int i = 1; i <= 3; i++) builder.AddModel($"m{i}", new Dictionary<string, double> { ["weight"] = i, ["density"] = 0.3 * i });
            var plan = MergePlan.Create(builder.Build(), stores);
            var collected = new CollectingSink();
            MergeRunner.Run(plan, collected, 2, ct: TestContext.Current.CancellationToken);
            string path = Path.Combine(SharedData.TempFolder(), "merged.safetensors");
            using (var sink = new WeightSpace.Analysis.Merging.Output.SafetensorsTensorSink(path, plan.Outputs))
            {
                MergeRunner.Run(plan, sink, 2, ct: TestContext.Current.CancellationToken);
                sink.Commit();
            }
            using var written = Checkpoint.Open(path);
            foreach (string tensor in new[] { "w", "small" })
            {
                var expected = collected.Floats[tensor];
                if (outType == DType.BF16)
                {
                    // The sink rounds to BF16 itself; compare with the collected floats rounded the same way.
                    var bytes = new byte[expected.Length * 2];
                    DTypeConversion.FromSingle(expected, DType.BF16, bytes);
                    expected = new float[expected.Length];
                    DTypeConversion.ToSingle(bytes, DType.BF16, expected);
                }
                BitEqual(expected, written.ReadSingle(tensor), $"{outType} {tensor}");
            }
            Assert.Equal(collected.Raw["steps"], written.Read("steps").Bytes.ToArray());
        }
    }
}
