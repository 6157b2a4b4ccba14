using System.Runtime.InteropServices;
using System.Text.Json;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Formats.Safetensors;

public sealed class SafetensorsWriterTests
{
    public static TheoryData<string> SharedModels => new()
    {
        "safetensors/dtypes.safetensors", "safetensors/mlp.safetensors", "safetensors/no_metadata.safetensors",
        "safetensors/cnn_sharded", "safetensors/face_recognition_resnet",
        "digits_mlp/mlp_seed0.safetensors", "digits_mlp/mlp_seed1.safetensors",
        "digits_mlp/mlp_ft_fliplr.safetensors", "digits_mlp/mlp_ft_invert.safetensors",
    };

    public static TheoryData<string> SingleFiles => new()
    {
        "safetensors/dtypes.safetensors", "safetensors/mlp.safetensors", "safetensors/no_metadata.safetensors",
        "digits_mlp/mlp_seed0.safetensors", "digits_mlp/mlp_ft_invert.safetensors",
    };

    [Theory]
    [MemberData(nameof(SingleFiles))]
    public void Copy_ReferenceWrittenFile_ReproducesItByteForByte(string relative)
    {
        // The fixtures were written with the reference layout (dtype order, name, space padding), so an unchanged copy
        // must give the same file: this checks ordering, offsets, padding and metadata order at once.
        string source = SharedData.Require(relative);
        string output = Path.Combine(SharedData.TempFolder(), "copy.safetensors");
        using (var store = SafetensorsReader.Open(source)) SafetensorsWriter.Copy(store, output);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(output));
    }

    [Theory]
    [MemberData(nameof(SharedModels))]
    public void Copy_SharedModelUnchanged_KeepsEveryTensorsBytes(string relative)
    {
        string folder = SharedData.TempFolder();
        using var source = SafetensorsReader.Open(SharedData.Require(relative));
        long reported = 0;
        SafetensorsWriter.Copy(source, Path.Combine(folder, "out"), new SafetensorsWriteOptions { ShardSizeBytes = 1 << 20 },
            bytesWritten: new SyncProgress(v => reported = v));
        Assert.Equal(source.ByteCount, reported);
        using var copy = SafetensorsReader.Open(Path.Combine(folder, "out"));
        Assert.Equal(source.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), copy.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var info in source.Tensors)
        {
            using var a = source.Read(info.Name);
            using var b = copy.Read(info.Name);
            Assert.Equal(info, b.Info);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), info.Name);
        }
        foreach (var (key, value) in source.Metadata.Where(kv => kv.Key != "total_size")) Assert.Equal(value, copy.Metadata[key]);
    }

    [Theory]
    [MemberData(nameof(SharedModels))]
    public void Copy_ToF16_EqualsHandRoundedValues(string relative) => AssertConverted(relative, DType.F16);

    [Theory]
    [MemberData(nameof(SharedModels))]
    public void Copy_ToBF16_EqualsHandRoundedValues(string relative) => AssertConverted(relative, DType.BF16);

    [Fact]
    public void Copy_ToF64_WidensExactly() => AssertConverted("safetensors/dtypes.safetensors", DType.F64);

    private static void AssertConverted(string relative, DType target)
    {
        string output = Path.Combine(SharedData.TempFolder(), "converted.safetensors");
        using var source = SafetensorsReader.Open(SharedData.Require(relative));
        SafetensorsWriter.Copy(source, output, floatDType: target);
        using var copy = SafetensorsReader.Open(output);
        foreach (var info in source.Tensors)
        {
            var converted = copy.GetInfo(info.Name);
            Assert.Equal(info.Shape, converted.Shape);
            if (!info.DType.IsFloatingPoint())
            {
                Assert.Equal(info.DType, converted.DType);
                using var a = source.Read(info.Name);
                using var b = copy.Read(info.Name);
                Assert.True(a.Bytes.SequenceEqual(b.Bytes), info.Name);
                continue;
            }
            Assert.Equal(target, converted.DType);
            double[] original = source.ReadDouble(info.Name), actual = copy.ReadDouble(info.Name);
            for (int i = 0; i < original.Length; i++)
            {
                double want = HandRound(original[i], target);
                Assert.True(want.Equals(actual[i]) && double.IsNegative(want) == double.IsNegative(actual[i]),
                    $"{info.Name}[{i}]: {original[i]:R} should round to {want:R}, got {actual[i]:R}");
            }
        }
    }

    /// <summary>Round to nearest, ties to even, into a binary format with <c>p</c> significand bits: scale by the
    /// ulp of the value's binade (powers of two scale exactly), round the integer with Math.Round, scale back.</summary>
    internal static double HandRound(double value, DType target)
    {
        if (target == DType.F64 || !double.IsFinite(value) || value == 0) return value;
        (int p, int emin, double max) = target switch
        {
            DType.F32 => (24, -126, (double)float.MaxValue),
            DType.F16 => (11, -14, 65504.0),
            DType.BF16 => (8, -126, (2 - Math.ScaleB(1, -7)) * Math.ScaleB(1, 127)),
            _ => throw new ArgumentOutOfRangeException(nameof(target)),
        };
        int e = Math.Max(Math.ILogB(value), emin);
        double ulp = Math.ScaleB(1, e - p + 1);
        double rounded = Math.Round(value / ulp, MidpointRounding.ToEven) * ulp;
        if (Math.Abs(rounded) > max) return double.CopySign(double.PositiveInfinity, value);
        return rounded == 0 ? double.CopySign(0, value) : rounded;
    }

    [Fact]
    public void Copy_F64NearF16Midpoint_RoundsOnceNotTwice()
    {
        // 1 + 2^-11 + 2^-30 lies just above the F16 midpoint between 1 and 1 + 2^-10. Through float32 it becomes the
        // midpoint itself and then rounds to 1 (even); the correct F16 value is 1 + 2^-10.
        double value = 1 + Math.ScaleB(1, -11) + Math.ScaleB(1, -30);
        var source = new InMemoryTensorStore().Add(new TensorInfo("x", DType.F64, new Shape(2)), MemoryMarshal.AsBytes<double>([value, -value]));
        string output = Path.Combine(SharedData.TempFolder(), "x.safetensors");
        SafetensorsWriter.Copy(source, output, floatDType: DType.F16);
        using var copy = SafetensorsReader.Open(output);
        Assert.Equal([1 + Math.ScaleB(1, -10), -(1 + Math.ScaleB(1, -10))], copy.ReadDouble("x"));

        SafetensorsWriter.Copy(source, output, floatDType: DType.BF16);
        using var bf16 = SafetensorsReader.Open(output);
        Assert.Equal([1.0, -1.0], bf16.ReadDouble("x"));   // 2^-11 is far below BF16's half-ulp 2^-8
    }

    [Fact]
    public void Create_InMemoryStore_RoundTripsBytesMetadataAndPadding()
    {
        var source = new InMemoryTensorStore()
            .WithMetadata("format", "pt").WithMetadata("note", "quote \" backslash \\ newline \n é ✓")
            .Add("w", [1f, -2.5f, 3.25f, float.NaN, float.NegativeInfinity, -0f], 2, 3)
            .Add(new TensorInfo("ids", DType.I64, new Shape(3)), MemoryMarshal.AsBytes<long>([-1, 0, long.MaxValue]))
            .Add(new TensorInfo("half", DType.F16, new Shape(1)), MemoryMarshal.AsBytes<Half>([(Half)0.5f]))
            .Add(new TensorInfo("flag", DType.Bool, new Shape(2)), [1, 0])
            .Add(new TensorInfo("empty", DType.F32, new Shape(0, 4)), []);
        string path = Path.Combine(SharedData.TempFolder(), "m.safetensors");
        SafetensorsWriter.Copy(source, path);

        var header = SafetensorsHeader.Read(path, new SafetensorsOptions());
        Assert.Equal(0, header.DataStart % 8);
        // Reference order: I64, F32, F16, BOOL; names within a dtype.
        Assert.Equal(["ids", "empty", "w", "half", "flag"], header.Entries.Select(e => e.Info.Name));
        using var store = SafetensorsReader.Open(path);
        Assert.Equal(source.Metadata.OrderBy(kv => kv.Key), store.Metadata.OrderBy(kv => kv.Key));
        foreach (var info in source.Tensors)
        {
            using var a = source.Read(info.Name);
            using var b = store.Read(info.Name);
            Assert.Equal(info, b.Info);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), info.Name);
        }
    }

    [Fact]
    public void Create_Sharded_AssignsGreedilyAndWritesWellFormedIndex()
    {
        // Data sizes 16, 16, 16, 100, 8, 8 with 64-byte shards: [16,16,16] [100 alone, too big] [8,8].
        var plan = new[]
        {
            new TensorInfo("a", DType.F32, new Shape(4)), new TensorInfo("b", DType.F32, new Shape(4)),
            new TensorInfo("c", DType.F32, new Shape(4)), new TensorInfo("big", DType.F32, new Shape(25)),
            new TensorInfo("d", DType.I64, new Shape(1)), new TensorInfo("e", DType.U8, new Shape(8)),
        };
        string folder = Path.Combine(SharedData.TempFolder(), "sharded");
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        using (var writer = SafetensorsWriter.Create(folder, plan, new SafetensorsWriteOptions { ShardSizeBytes = 64, Metadata = metadata }))
        {
            foreach (var info in plan) writer.Write(info.Name, Pattern(info));
            writer.Commit();
        }
        string[] expectedShards = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"];
        Assert.Equal([.. expectedShards, "model.safetensors.index.json"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "model.safetensors.index.json")));
        Assert.Equal(16 * 3 + 100 + 8 + 8, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["a"] = expectedShards[0], ["b"] = expectedShards[0], ["c"] = expectedShards[0],
            ["big"] = expectedShards[1], ["d"] = expectedShards[2], ["e"] = expectedShards[2],
        }, map);
        foreach (string shard in expectedShards)
        {
            var header = SafetensorsHeader.Read(Path.Combine(folder, shard), new SafetensorsOptions());
            Assert.Equal(0, header.DataStart % 8);
            Assert.Equal(metadata, header.Metadata);
        }
        using var store = SafetensorsReader.Open(folder);
        Assert.Equal(["a", "b", "c", "big", "d", "e"], store.Tensors.Select(t => t.Name));
        foreach (var info in plan)
        {
            using var buffer = store.Read(info.Name);
            Assert.Equal(Pattern(info), buffer.Bytes.ToArray());
        }
    }

    [Fact]
    public void Write_Float32ValuesToF16AndBF16_RoundsToNearestEven()
    {
        float[] values = [1f, 1 + MathF.ScaleB(1, -11), 1 + 3 * MathF.ScaleB(1, -11), 65520f, 1e-8f, -0.1f, float.NaN];
        var plan = new[] { new TensorInfo("h", DType.F16, new Shape(values.Length)), new TensorInfo("b", DType.BF16, new Shape(values.Length)), new TensorInfo("d", DType.F64, new Shape(values.Length)) };
        string path = Path.Combine(SharedData.TempFolder(), "f.safetensors");
        using (var writer = SafetensorsWriter.Create(path, plan))
        {
            foreach (var info in plan) writer.Write(info.Name, values);
            writer.Commit();
        }
        using var store = SafetensorsReader.Open(path);
        foreach (var info in plan)
        {
            double[] actual = store.ReadDouble(info.Name);
            for (int i = 0; i < values.Length; i++)
                Assert.Equal(HandRound(values[i], info.DType), actual[i]);
        }
    }

    [Fact]
    public void Dispose_WithoutCommit_LeavesNoFilesAndKeepsTheOldFile()
    {
        string folder = SharedData.TempFolder();
        string single = Path.Combine(folder, "model.safetensors");
        File.WriteAllBytes(single, [1, 2, 3]);
        var plan = new[] { new TensorInfo("a", DType.F32, new Shape(2)), new TensorInfo("b", DType.F32, new Shape(3)) };
        using (var writer = SafetensorsWriter.Create(single, plan))
        {
            writer.Write("a", [1f, 2f]);
            Assert.Single(Directory.GetFiles(folder), f => f.EndsWith(".tmp"));
        }
        Assert.Equal([single], Directory.GetFiles(folder));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(single));

        string sharded = Path.Combine(folder, "shards");
        using (var writer = SafetensorsWriter.Create(sharded, plan, new SafetensorsWriteOptions { ShardSizeBytes = 8 }))
        {
            writer.Write("a", [1f, 2f]);
            writer.Write("b", [1f, 2f, 3f]);
            // No Commit: an interrupted run.
        }
        Assert.Empty(Directory.GetFiles(sharded));
    }

    [Fact]
    public void Commit_MissingOrPartialTensor_ThrowsNamingIt()
    {
        var plan = new[] { new TensorInfo("done", DType.F32, new Shape(2)), new TensorInfo("half.written", DType.F32, new Shape(4)) };
        string folder = SharedData.TempFolder();
        using var writer = SafetensorsWriter.Create(Path.Combine(folder, "x.safetensors"), plan);
        writer.Write("done", [1f, 2f]);
        writer.Write("half.written", 0, new byte[8]);
        var e = Assert.Throws<InvalidOperationException>(writer.Commit);
        Assert.Contains("'half.written' (8 of 16 bytes)", e.Message);
    }

    [Fact]
    public void Write_BadCalls_ThrowNamingTheTensor()
    {
        var plan = new[] { new TensorInfo("w", DType.F32, new Shape(2)), new TensorInfo("ids", DType.I32, new Shape(2)) };
        using var writer = SafetensorsWriter.Create(Path.Combine(SharedData.TempFolder(), "x.safetensors"), plan);
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => writer.Write("nope", new byte[8])).Message);
        Assert.Contains("'w'", Assert.Throws<ArgumentException>(() => writer.Write("w", new byte[7])).Message);
        Assert.Contains("'w'", Assert.Throws<ArgumentException>(() => writer.Write("w", [1f, 2f, 3f])).Message);
        Assert.Contains("'ids'", Assert.Throws<ArgumentException>(() => writer.Write("ids", [1f, 2f])).Message);
        Assert.Contains("'w'", Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write("w", 4, new byte[8])).Message);
        writer.Write("w", 0, new byte[4]);
        Assert.Contains("'w'", Assert.Throws<InvalidOperationException>(() => writer.Write("w", 2, new byte[4])).Message);
        writer.Write("w", 4, new byte[4]);
        Assert.Contains("'w' was already written", Assert.Throws<InvalidOperationException>(() => writer.Write("w", new byte[8])).Message);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Create(Path.Combine(SharedData.TempFolder(), "y"), [plan[0], plan[0]]));
    }

    [Fact]
    public void Write_FromManyThreadsInShuffledChunks_EqualsSequentialOutput()
    {
        var random = new Random(1234);
        var plan = Enumerable.Range(0, 24).Select(i => new TensorInfo($"t{i}", (DType)(i % 4 == 0 ? DType.F16 : i % 4 == 1 ? DType.I64 : i % 4 == 2 ? DType.F32 : DType.U8), new Shape(1 + random.Next(5000)))).ToArray();
        var data = plan.ToDictionary(t => t.Name, t => { var b = new byte[t.ByteCount]; random.NextBytes(b); return b; });
        string folder = SharedData.TempFolder();
        var options = new SafetensorsWriteOptions { ShardSizeBytes = 20_000, Metadata = new Dictionary<string, string> { ["k"] = "v" } };

        string sequential = Path.Combine(folder, "seq");
        using (var writer = SafetensorsWriter.Create(sequential, plan, options))
        {
            foreach (var info in plan) writer.Write(info.Name, data[info.Name]);
            writer.Commit();
        }
        string parallel = Path.Combine(folder, "par");
        var chunks = plan.SelectMany(t => Enumerable.Range(0, (int)((t.ByteCount + 99) / 100)).Select(c => (t.Name, Offset: c * 100L))).OrderBy(_ => random.Next()).ToList();
        using (var writer = SafetensorsWriter.Create(parallel, plan, options))
        {
            Parallel.ForEach(chunks, new ParallelOptions { MaxDegreeOfParallelism = 4 }, chunk =>
            {
                byte[] bytes = data[chunk.Name];
                int length = (int)Math.Min(100, bytes.Length - chunk.Offset);
                writer.Write(chunk.Name, chunk.Offset, bytes.AsSpan((int)chunk.Offset, length));
            });
            writer.Commit();
        }
        var names = Directory.GetFiles(sequential).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.True(names.Count > 2);
        Assert.Equal(names, Directory.GetFiles(parallel).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string name in names!)
            Assert.Equal(File.ReadAllBytes(Path.Combine(sequential, name!)), File.ReadAllBytes(Path.Combine(parallel, name!)));
    }

    private static byte[] Pattern(TensorInfo info) =>
        Enumerable.Range(0, (int)info.ByteCount).Select(i => (byte)(i * 7 + info.Name.Length)).ToArray();

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    [Fact]
    public void WriteFloatParts_FromManyThreadsInAnyOrder_EqualsOneWholeWrite()
    {
        const int n = 100_003;
        var values = Enumerable.Range(0, n).Select(i => MathF.Sin(i) * 3).ToArray();
        var plan = new[] { new TensorInfo("f", DType.F32, new Shape(n)), new TensorInfo("b", DType.BF16, new Shape(n)) };
        string folder = SharedData.TempFolder();
        string whole = Path.Combine(folder, "whole.safetensors"), parts = Path.Combine(folder, "parts.safetensors");
        using (var writer = SafetensorsWriter.Create(whole, plan))
        {
            foreach (var info in plan) writer.Write(info.Name, values);
            writer.Commit();
        }
        using (var writer = SafetensorsWriter.Create(parts, plan))
        {
            // Uneven part sizes, shuffled, written concurrently.
            var ranges = new List<(string Name, int Start, int Length)>();
            foreach (var info in plan)
                for (int start = 0, size = 1; start < n; start += size, size = size * 3 % 4099 + 1)
                    ranges.Add((info.Name, start, Math.Min(size, n - start)));
            var shuffled = ranges.OrderBy(r => HashCode.Combine(r.Name, r.Start)).ToArray();
            Parallel.ForEach(shuffled, r => writer.Write(r.Name, r.Start, values.AsSpan(r.Start, r.Length)));
            writer.Commit();
        }
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(parts));
    }

    [Fact]
    public void WriteFloatParts_OverlapOutOfRangeOrMissing_AreRefused()
    {
        var plan = new[] { new TensorInfo("f", DType.F32, new Shape(10)), new TensorInfo("i", DType.I32, new Shape(2)) };
        string path = Path.Combine(SharedData.TempFolder(), "p.safetensors");
        using var writer = SafetensorsWriter.Create(path, plan);
        var values = new float[10];
        writer.Write("f", 0, values.AsSpan(0, 6));
        Assert.Throws<InvalidOperationException>(() => writer.Write("f", 5, values.AsSpan(0, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write("f", 8, values.AsSpan(0, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write("f", -1, values.AsSpan(0, 1)));
        Assert.Throws<ArgumentException>(() => writer.Write("i", 0, values.AsSpan(0, 1)));
        var e = Assert.Throws<InvalidOperationException>(() => writer.Commit());
        Assert.Contains("'f' (24 of 40 bytes)", e.Message);
        Assert.False(File.Exists(path));
    }
}
