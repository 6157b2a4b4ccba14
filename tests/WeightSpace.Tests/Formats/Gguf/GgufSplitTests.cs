using System.Text.Json;
using WeightSpace.Formats.Gguf;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>Split GGUF sets as llama.cpp's gguf-split writes them: our writer on the shared tiny-llama files, then our
/// reader over the parts; hand-built sets break one rule each.</summary>
public sealed class GgufSplitTests
{
    private static readonly GgufOptions AsStored = new() { Naming = GgufNaming.Gguf };

    [Theory]
    [InlineData("tinyllama-f32.gguf")]
    [InlineData("tinyllama-q4_k_m.gguf")]
    public void SplitIntoThreeParts_EveryPartOpensTheSet_TensorsBitIdentical(string file)
    {
        string source = SharedData.Require($"gguf/tinyllama/{file}");
        string folder = SharedData.TempFolder();
        var parts = GgufRequantizer.Split(source, Path.Combine(folder, "m.gguf"), new GgufSplitOptions { MaxTensors = 13 });

        Assert.Equal(["m-00001-of-00003.gguf", "m-00002-of-00003.gguf", "m-00003-of-00003.gguf"], parts.Select(Path.GetFileName));
        Assert.Equal(3, Directory.GetFiles(folder).Length);   // no temp files left
        using var original = GgufReader.Open(source, AsStored);
        for (int i = 0; i < 3; i++)
        {
            // Each part alone: split.no, split.count, split.tensors.count with gguf-split's types; the model's metadata
            // in the first part only, before the split keys.
            var raw = MappedPart(parts[i]);
            var keys = raw.Metadata.Select(kv => (kv.Key, kv.Value.Type, kv.Value.ToString())).ToList();
            var expectedSplitKeys = new[] { ("split.no", GgufValueType.UInt16, $"{i}"), ("split.count", GgufValueType.UInt16, "3"), ("split.tensors.count", GgufValueType.Int32, "39") };
            var expectedModelKeys = i == 0 ? original.KeyValues.Select(kv => (kv.Key, kv.Value.Type, kv.Value.ToString())) : [];
            Assert.Equal(expectedModelKeys.Concat(expectedSplitKeys), keys);
            Assert.Equal(13, raw.Tensors.Count);
        }

        foreach (string part in parts)
        {
            using var set = GgufReader.Open(part, AsStored);
            Assert.Equal(parts, set.SplitPaths);
            Assert.Equal(parts[0], set.Path);
            Assert.Equal(original.StoredTensors.Select(t => (t.Name, t.TypeId, string.Join(",", t.Ne))), set.StoredTensors.Select(t => (t.Name, t.TypeId, string.Join(",", t.Ne))));
            foreach (var t in original.StoredTensors)
                Assert.True(original.StoredBytes(t).AsSpan().SequenceEqual(set.StoredBytes(set.StoredTensors.Single(s => s.Name == t.Name))), $"{part}: tensor '{t.Name}' differs");
        }

        // The Hugging Face view (un-permuted q/k, dequantised) of the set equals that of the single file.
        using var hfOriginal = GgufReader.Open(source);
        using var hfSet = GgufReader.Open(parts[1]);
        Assert.Equal(hfOriginal.Tensors, hfSet.Tensors);
        foreach (var info in hfOriginal.Tensors)
            Assert.Equal(hfOriginal.ReadSingle(info.Name), hfSet.ReadSingle(info.Name));
    }

    [Fact]
    public void SplitSetRewrittenAsOneFile_IsTheOriginalAgain()
    {
        // convert PART out.gguf --type f32 merges the set: the split keys of the source are not copied, so the result is
        // one file, and (F32 kept F32) byte for byte the metadata and tensors of the unsplit file.
        string source = SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf");
        string folder = SharedData.TempFolder();
        var parts = GgufRequantizer.Split(source, Path.Combine(folder, "m.gguf"), new GgufSplitOptions { MaxTensors = 20 });
        string merged = Path.Combine(folder, "merged.gguf");
        GgufRequantizer.Write(parts[1], merged, DType.F32);
        using var one = GgufReader.Open(merged, AsStored);
        using var original = GgufReader.Open(source, AsStored);
        Assert.Equal([merged], one.SplitPaths);
        Assert.DoesNotContain(one.KeyValues, kv => kv.Key.StartsWith("split.", StringComparison.Ordinal));
        Assert.Equal(original.StoredTensors.Select(t => t.Name), one.StoredTensors.Select(t => t.Name));
        foreach (var t in original.StoredTensors)
            Assert.True(original.StoredBytes(t).AsSpan().SequenceEqual(one.StoredBytes(one.StoredTensors.Single(s => s.Name == t.Name))), t.Name);
    }

    [Fact]
    public void SplitBySize_EachPartIsAsFullAsTheLimitAllows()
    {
        // gguf-split's rule: tensor bytes padded to 32 are summed (header excluded); a part is closed when the next
        // tensor would pass the limit. Checked here as the two properties that rule implies.
        const long max = 2_000_000;
        string source = SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf");
        var parts = GgufRequantizer.Split(source, Path.Combine(SharedData.TempFolder(), "s.gguf"), new GgufSplitOptions { MaxBytes = max });
        Assert.True(parts.Count > 3, $"{parts.Count} parts");
        var sizes = parts.Select(p => { var h = MappedPart(p); return h.Tensors.Select(t => (t.ByteCount + 31) / 32 * 32).ToList(); }).ToList();
        for (int i = 0; i < sizes.Count; i++)
        {
            Assert.True(sizes[i].Count == 1 || sizes[i].Sum() <= max, $"part {i + 1}: {sizes[i].Sum()} bytes");
            if (i + 1 < sizes.Count) Assert.True(sizes[i].Sum() + sizes[i + 1][0] > max, $"part {i + 1} could have taken the next tensor");
        }
        using var set = GgufReader.Open(parts[^1], AsStored);
        Assert.Equal(39, set.StoredTensors.Count);
    }

    [Fact]
    public void SizeLimitBelowTheFirstTensor_IsRefused_AndNothingIsWritten()
    {
        string folder = SharedData.TempFolder();
        var r = CliRunner.Run("convert", SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), Path.Combine(folder, "x.gguf"), "--split-max-size", "1K");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--split-max-size", r.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public void AFailureWhileWritingALaterPart_LeavesNoPartOnDisk()
    {
        string folder = SharedData.TempFolder();
        var tensors = new[]
        {
            new GgufTensorToWrite("a", [8], DType.F32, () => new byte[32]),
            new GgufTensorToWrite("b", [8], DType.F32, () => throw new IOException("disk full")),
        };
        Assert.Throws<IOException>(() => GgufFileWriter.Write(Path.Combine(folder, "y.gguf"), [], tensors, 32, split: new GgufSplitOptions { MaxTensors = 1 }));
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public void CliVerbs_ReadASplitSetAsOneModel()
    {
        string f32 = SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf");
        string q4 = SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf");
        string folder = SharedData.TempFolder();
        var convert = CliRunner.Run("convert", q4, Path.Combine(folder, "q4.gguf"), "--split-max-tensors", "13");
        Assert.True(convert.ExitCode == 0, convert.Stderr);
        string part2 = Path.Combine(folder, "q4-00002-of-00003.gguf");

        var inspect = CliRunner.Run("inspect", part2, "--metadata");
        Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        Assert.Contains("split.tensors.count", inspect.Stdout, StringComparison.Ordinal);
        Assert.Contains("general.architecture", inspect.Stdout, StringComparison.Ordinal);   // the first part's metadata
        Assert.Contains("model.layers.3.mlp.down_proj.weight", inspect.Stdout, StringComparison.Ordinal);   // a tensor of the last part (file order: blk.3 last)

        // The quantisation-error report over the set equals the one over the single file, number for number.
        var whole = CliRunner.Run("diff", f32, q4, "--json");
        var split = CliRunner.Run("diff", f32, part2, "--json");
        Assert.True(split.ExitCode == 0, split.Stderr);
        Assert.Equal(Tensors(whole.Stdout), Tensors(split.Stdout));
        static string Tensors(string json) => JsonDocument.Parse(json).RootElement.GetProperty("tensors").GetRawText();
    }

    // Hostile sets: three parts of one F32 tensor each ("t0", "t1", "t2"), broken one way per case.
    public static TheoryData<string, string> Broken => new()
    {
        { "missing", "part 2 of 3 is missing" },
        { "count", "key 'split.count': is 4 but part 1" },
        { "duplicate", "tensor 't0': is also in part 1" },
        { "no-out-of-range", "part number 7 is out of range for split.count 3" },
        { "no-mismatch", "key 'split.no': is 0, but the file is named as part 2 of 3" },
        { "total", "key 'split.tensors.count': is 4 but the 3 parts hold 3 tensors" },
        { "type", "key 'split.count': must be a UINT16" },
        { "name", "must be named PREFIX-00001-of-00003.gguf" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void BrokenSet_IsRefusedWithATypedErrorNamingThePart(string breakage, string expected)
    {
        string folder = SharedData.TempFolder();
        string Part(int i) => Path.Combine(folder, breakage == "name" && i == 0 ? "renamed.gguf" : $"m-{i + 1:D5}-of-00003.gguf");
        for (int i = 0; i < 3; i++)
        {
            if (breakage == "missing" && i == 1) continue;
            int no = breakage switch { "no-out-of-range" when i == 0 => 7, "no-mismatch" when i == 1 => 0, _ => i };
            uint count = breakage == "count" && i == 2 ? 4u : 3u;
            int total = breakage == "total" ? 4 : 3;
            string tensor = breakage == "duplicate" && i == 2 ? "t0" : $"t{i}";
            var b = GgufBytes.Header(1, 3).Str("split.no").U32(2).U16((ushort)no);
            b = breakage == "type" && i == 0 ? b.KvU32("split.count", count) : b.Str("split.count").U32(2).U16((ushort)count);
            b.Str("split.tensors.count").U32(5).U32((uint)total).Tensor(tensor, [8], 0, 0).Pad().Floats(0, 1, 2, 3, 4, 5, 6, 7);
            File.WriteAllBytes(Part(i), b.ToArray());
        }
        var e = Assert.Throws<InvalidGgufException>(() => GgufReader.Open(Part(0)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        string culprit = breakage switch { "missing" => Part(1), "count" or "duplicate" => Part(2), "no-mismatch" => Part(1), _ => Part(0) };
        Assert.StartsWith(culprit, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        // The command line refuses it the same way, exit code 1.
        var r = CliRunner.Run("inspect", Part(0));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidHandBuiltSet_Opens_FromAnyPart()
    {
        string folder = SharedData.TempFolder();
        for (int i = 0; i < 3; i++)
            File.WriteAllBytes(Path.Combine(folder, $"m-{i + 1:D5}-of-00003.gguf"), GgufBytes.Header(1, 3).Str("split.no").U32(2).U16((ushort)i).Str("split.count").U32(2).U16(3)
                .Str("split.tensors.count").U32(5).U32(3).Tensor($"t{i}", [8], 0, 0).Pad().Floats(i, 1, 2, 3, 4, 5, 6, 7).ToArray());
        using var set = GgufReader.Open(Path.Combine(folder, "m-00003-of-00003.gguf"));
        Assert.Equal(["t0", "t1", "t2"], set.Tensors.Select(t => t.Name));
        Assert.Equal([2f, 1, 2, 3, 4, 5, 6, 7], set.ReadSingle("t2"));
    }

    private static GgufHeader MappedPart(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return GgufHeader.Parse(path, bytes, bytes.Length);
    }
}
