using System.Text.Json;
using System.Text.Json.Nodes;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>Hugging Face folder → GGUF: compared with the files llama.cpp's tools wrote, with the HF checkpoint it
/// came from, and with the converter's permute written out independently.</summary>
public sealed class GgufHfImportTests
{
    private static readonly GgufOptions Stored = new() { Naming = GgufNaming.Gguf };

    /// <summary>The shared tiny-llama F32 GGUF as an HF folder (our export), the input of the round-trip tests.</summary>
    private static string SharedAsHfFolder()
    {
        string folder = Path.Combine(SharedData.TempFolder(), "tinyllama-hf");
        using var store = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"));
        GgufHfExport.Write(store, folder);
        return folder;
    }

    [Fact]
    public void F32_RoundTrip_OfTheSharedFile_HasItsTensorsByteForByte_AndItsMetadata()
    {
        string output = Path.Combine(SharedData.TempFolder(), "f32.gguf");
        GgufHfImport.Write(SharedAsHfFolder(), output, DType.F32, name: "tinyllama-test");
        using var ours = GgufReader.Open(output, Stored);
        using var theirs = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), Stored);
        // Same tensors (both writers follow their input's order: gen.py's dict, our HF export's sorted safetensors), same bytes.
        Assert.Equal(theirs.StoredTensors.Select(t => (t.Name, t.TypeName, string.Join(",", t.Ne))).Order(), ours.StoredTensors.Select(t => (t.Name, t.TypeName, string.Join(",", t.Ne))).Order());
        foreach (var t in theirs.StoredTensors)
        {
            using var a = ours.Read(t.Name);
            using var b = theirs.Read(t.Name);
            Assert.True(b.Bytes.SequenceEqual(a.Bytes), $"tensor '{t.Name}' differs from the llama.cpp-written bytes");
        }
        // Every key of theirs is ours with the same type and value; ours adds exactly what convert_hf_to_gguf.py adds
        // and gen.py's hand-made writer did not (merges are what llama.cpp needs to load a gpt2 vocabulary).
        var ourKeys = ours.KeyValues.ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (key, value) in theirs.KeyValues)
        {
            Assert.True(ourKeys.TryGetValue(key, out var mine), $"key '{key}' is missing");
            Assert.Equal((value.Type, value.ElementType, value.ToString(100_000)), (mine!.Type, mine.ElementType, mine.ToString(100_000)));
        }
        Assert.Equal(["general.alignment", "general.quantization_version", "general.type", "tokenizer.ggml.merges"],
            ourKeys.Keys.Except(theirs.KeyValues.Select(kv => kv.Key)).Order(StringComparer.Ordinal));
        Assert.Equal(32u, ourKeys["general.alignment"].Value);
        Assert.Empty((string[])ourKeys["tokenizer.ggml.merges"].Value);
    }

    [Fact]
    public void Q8_0_FromTheHfFolder_EqualsLlamaQuantizeBlocks_ForAll39Tensors()
    {
        string output = Path.Combine(SharedData.TempFolder(), "q8_0.gguf");
        GgufHfImport.Write(SharedAsHfFolder(), output, DType.Q8_0);
        using var ours = GgufReader.Open(output, Stored);
        using var theirs = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-q8_0.gguf"), Stored);
        Assert.Equal(39, theirs.StoredTensors.Count);
        foreach (var t in theirs.StoredTensors)
        {
            using var a = ours.Read(t.Name);
            using var b = theirs.Read(t.Name);
            Assert.Equal(b.Info, a.Info);
            Assert.True(b.Bytes.SequenceEqual(a.Bytes), $"tensor '{t.Name}' differs from llama-quantize's {t.TypeName} bytes");
        }
        Assert.Equal(7u, ours.Find("general.file_type")!.Value);
    }

    [Fact]
    public void Q4_0_FromTheHfFolder_EqualsLlamaQuantizeBlocks_WhereLlamaQuantizeUsedQ4_0()
    {
        string output = Path.Combine(SharedData.TempFolder(), "q4_0.gguf");
        GgufHfImport.Write(SharedAsHfFolder(), output, DType.Q4_0);
        using var ours = GgufReader.Open(output, Stored);
        using var theirs = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-q4_0.gguf"), Stored);
        var q4 = theirs.StoredTensors.Where(t => t.DType == DType.Q4_0).ToList();
        Assert.Equal(29, q4.Count);   // llama-quantize's Q4_0 mix puts output.weight in Q6_K; we write Q4_0 there
        foreach (var t in q4)
        {
            using var a = ours.Read(t.Name);
            using var b = theirs.Read(t.Name);
            Assert.True(b.Bytes.SequenceEqual(a.Bytes), $"tensor '{t.Name}' differs from llama-quantize's Q4_0 blocks");
        }
        Assert.Equal(DType.Q4_0, ours.GetStored("output.weight").DType);
    }

    [Fact]
    public void BaseF32_Metadata_FollowsConfigJson_AndQkRowsAreTheConvertersPermute()
    {
        string folder = SharedData.Require("llm/base-f32");
        string output = Path.Combine(SharedData.TempFolder(), "base.gguf");
        GgufHfImport.Write(folder, output, DType.F32);
        using var gguf = GgufReader.Open(output, Stored);
        var expected = new Dictionary<string, object>
        {
            ["general.architecture"] = "llama", ["general.name"] = "base-f32", ["llama.block_count"] = 4u, ["llama.context_length"] = 512u,
            ["llama.embedding_length"] = 256u, ["llama.feed_forward_length"] = 768u, ["llama.attention.head_count"] = 8u,
            ["llama.attention.head_count_kv"] = 2u, ["llama.rope.freq_base"] = 10000f, ["llama.attention.layer_norm_rms_epsilon"] = 1e-5f,
            ["llama.attention.key_length"] = 32u, ["llama.attention.value_length"] = 32u, ["general.file_type"] = 0u,
            ["llama.vocab_size"] = 256u, ["llama.rope.dimension_count"] = 32u, ["tokenizer.ggml.model"] = "gpt2",
            ["tokenizer.ggml.add_bos_token"] = false, ["tokenizer.ggml.add_eos_token"] = false,
        };
        foreach (var (key, value) in expected) Assert.Equal(value, gguf.Find(key)?.Value);
        Assert.Null(gguf.Find("tokenizer.ggml.bos_token_id"));   // tokenizer_config.json and config.json have none
        var tokens = (string[])gguf.Find("tokenizer.ggml.tokens")!.Value;
        Assert.Equal("Ā", tokens[0]);
        Assert.Equal("!", tokens[33]);
        Assert.All((int[])gguf.Find("tokenizer.ggml.token_type")!.Value, t => Assert.Equal(1, t));

        using var hf = Checkpoint.Open(folder);
        foreach (var (hfName, ggufName, heads) in new[] { ("model.layers.2.self_attn.q_proj.weight", "blk.2.attn_q.weight", 8), ("model.layers.2.self_attn.k_proj.weight", "blk.2.attn_k.weight", 2) })
        {
            float[] w = hf.ReadSingle(hfName);
            float[] stored = gguf.ReadSingle(ggufName);
            int rows = (int)hf.GetInfo(hfName).Shape[0], cols = (int)hf.GetInfo(hfName).Shape[1], half = rows / heads / 2;
            // w.reshape(heads, 2, half, cols).swapaxes(1, 2): out[h, i, j, :] = w[h, j, i, :]
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < half; i++)
                    for (int j = 0; j < 2; j++)
                        Assert.True(stored.AsSpan(((h * half + i) * 2 + j) * cols, cols).SequenceEqual(w.AsSpan(((h * 2 + j) * half + i) * cols, cols)), $"{ggufName} row {(h * half + i) * 2 + j}");
        }
        using var view = GgufReader.Open(output);   // HF view: un-permuted back, bit for bit
        foreach (var t in hf.Tensors)
            Assert.True(hf.ReadSingle(t.Name).AsSpan().SequenceEqual(view.ReadSingle(t.Name)), t.Name);
    }

    [Fact]
    public void Bf16Folder_ToBf16Gguf_KeepsTheBf16BytesExactly_AndF16IsRoundToNearestEven()
    {
        string folder = SharedData.RequireModel("llm/base");
        string bf16 = Path.Combine(SharedData.TempFolder(), "bf16.gguf");
        GgufHfImport.Write(folder, bf16, DType.BF16);
        using var hf = Checkpoint.Open(folder);
        using (var view = GgufReader.Open(bf16))
        {
            Assert.Equal(32u, view.Find("general.file_type")!.Value);
            foreach (var t in hf.Tensors.Where(t => t.Shape.Rank == 2))
            {
                using var a = hf.Read(t.Name);
                using var b = view.Read(t.Name);
                Assert.Equal(DType.BF16, b.Info.DType);
                Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
            }
            Assert.Equal(DType.F32, view.GetInfo("model.norm.weight").DType);   // 1-D tensors in F32, as llama.cpp
        }
        string f16 = Path.Combine(SharedData.TempFolder(), "f16.gguf");
        GgufHfImport.Write(SharedData.Require("llm/base-f32"), f16, DType.F16);
        using var hf32 = Checkpoint.Open(SharedData.Require("llm/base-f32"));
        using var half = GgufReader.Open(f16);
        float[] source = hf32.ReadSingle("model.layers.1.mlp.down_proj.weight");
        using var stored = half.Read("model.layers.1.mlp.down_proj.weight");
        var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(stored.Bytes);
        for (int i = 0; i < source.Length; i++) Assert.Equal(BitConverter.HalfToUInt16Bits((Half)source[i]), bits[i]);
    }

    // ---- refused inputs: a typed error naming the file and key, and nothing on disk ----

    private static string CopyFolder(string relative) => SharedData.CopyFolder(SharedData.Require(relative));

    private static void EditJson(string path, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    private static TException Refused<TException>(string folder, string expectedText) where TException : Exception
    {
        string outDir = SharedData.TempFolder();
        string output = Path.Combine(outDir, "out.gguf");
        var e = Assert.ThrowsAny<TException>(() => GgufHfImport.Write(folder, output, DType.F16));
        Assert.Contains(expectedText, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(outDir));   // no output, no temp file
        return e;
    }

    [Fact]
    public void MissingFiles_AreRefusedByName()
    {
        string folder = CopyFolder("llm/base-f32");
        File.Delete(Path.Combine(folder, "tokenizer.json"));
        Refused<FileNotFoundException>(folder, "no tokenizer.json");
        File.Delete(Path.Combine(folder, "config.json"));
        Refused<FileNotFoundException>(folder, "no config.json");
    }

    [Theory]
    [InlineData("model_type", "\"mistral\"", "model_type 'mistral'")]
    [InlineData("num_key_value_heads", "3", "3 does not divide num_attention_heads 8")]
    [InlineData("hidden_size", "-256", "key 'hidden_size': -256 is out of range")]
    [InlineData("num_attention_heads", "\"eight\"", "key 'num_attention_heads': \"eight\" is not an integer")]
    [InlineData("head_dim", "31", "31 is odd")]
    [InlineData("rope_scaling", "{\"rope_type\":\"llama3\",\"factor\":8}", "rope_scaling type 'llama3'")]
    [InlineData("rope_scaling", "{\"type\":\"linear\"}", "rope_scaling.factor")]
    [InlineData("vocab_size", "200", "has id 255 but")]
    [InlineData("num_hidden_layers", "2", "is in layer 2 but config.json has num_hidden_layers 2")]
    [InlineData("head_dim", "16", "rows; 2 heads × head_dim 16 = 32 are needed")]
    public void BadConfig_IsRefusedNamingTheKey(string key, string json, string expected)
    {
        string folder = CopyFolder("llm/base-f32");
        EditJson(Path.Combine(folder, "config.json"), o =>
        {
            o[key] = JsonNode.Parse(json);
            if (key == "model_type") o.Remove("architectures");
        });
        var e = Refused<WeightSpaceException>(folder, expected);
        Assert.Contains(folder, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LinearRopeScaling_IsWrittenAsLlamaCppKeys()
    {
        string folder = CopyFolder("llm/base-f32");
        EditJson(Path.Combine(folder, "config.json"), o => o["rope_scaling"] = JsonNode.Parse("{\"rope_type\":\"linear\",\"factor\":2.5}"));
        string output = Path.Combine(SharedData.TempFolder(), "linear.gguf");
        GgufHfImport.Write(folder, output, DType.F32);
        using var gguf = GgufReader.Open(output, Stored);
        Assert.Equal("linear", gguf.Find("llama.rope.scaling.type")!.Value);
        Assert.Equal(2.5f, gguf.Find("llama.rope.scaling.factor")!.Value);
    }

    [Theory]
    [InlineData("byte_fallback", "true", "a byte_fallback BPE with decoder 'ByteLevel' is not a Llama tokenizer")]
    [InlineData("type", "\"Unigram\"", "tokenizer model 'Unigram'")]
    [InlineData("merges", "[\"a b c\"]", "key 'model.merges': entry 0")]
    [InlineData("merges", "{}", "key 'model.merges': is not an array")]
    [InlineData("vocab", "{\"a\": 0, \"b\": 0}", "id 0 is given to 'a' and 'b'")]
    [InlineData("vocab", "{\"a\": -1}", "has id -1")]
    [InlineData("vocab", "{\"a\": 99999999}", "has id 99999999")]
    [InlineData("vocab", "{}", "key 'model.vocab': is empty")]
    public void BadTokenizer_IsRefusedNamingTheKey(string key, string json, string expected)
    {
        string folder = CopyFolder("llm/base-f32");
        EditJson(Path.Combine(folder, "tokenizer.json"), o => o["model"]![key] = JsonNode.Parse(json));
        Refused<WeightSpaceException>(folder, expected);
    }

    [Fact]
    public void TokenizerEdgeCases_DamagedTokenizerModel_NonJson_NoByteLevel_AreRefused()
    {
        string folder = CopyFolder("llm/base-f32");
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), [1, 2, 3]);   // read first, as the converter does
        Refused<InvalidCheckpointException>(folder, "is not a valid field tag");
        File.Delete(Path.Combine(folder, "tokenizer.model"));
        EditJson(Path.Combine(folder, "tokenizer.json"), o => o["pre_tokenizer"] = JsonNode.Parse("{\"type\":\"Metaspace\"}"));
        Refused<UnsupportedFormatException>(folder, "pre_tokenizer has no ByteLevel step");
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{\"model\": [");
        Refused<InvalidCheckpointException>(folder, "tokenizer.json: is not valid JSON");
    }

    [Fact]
    public void AddedAndMissingTokens_GetLlamaCppTokenTypes_AndSpecialIdsComeFromTokenizerConfig()
    {
        string folder = CopyFolder("llm/base-f32");
        EditJson(Path.Combine(folder, "config.json"), o => { o["vocab_size"] = 260; o["eos_token_id"] = 257; });
        EditJson(Path.Combine(folder, "tokenizer.json"), o => o["added_tokens"] = JsonNode.Parse(
            "[{\"id\":256,\"content\":\"<s>\",\"special\":true},{\"id\":257,\"content\":\"</s>\",\"special\":true},{\"id\":258,\"content\":\"hello\u2581world\",\"special\":false}]"));
        EditJson(Path.Combine(folder, "tokenizer_config.json"), o => { o["bos_token"] = "<s>"; o["chat_template"] = "{{ messages }}"; });
        string output = Path.Combine(SharedData.TempFolder(), "added.gguf");
        GgufHfImport.Write(folder, output, DType.F32);
        using var gguf = GgufReader.Open(output, Stored);
        var tokens = (string[])gguf.Find("tokenizer.ggml.tokens")!.Value;
        var types = (int[])gguf.Find("tokenizer.ggml.token_type")!.Value;
        Assert.Equal(["<s>", "</s>", "hello world", "[PAD259]"], tokens[256..]);
        Assert.Equal([3, 3, 4, 4], types[256..]);   // CONTROL, CONTROL, USER_DEFINED, USER_DEFINED
        Assert.Equal(256u, gguf.Find("tokenizer.ggml.bos_token_id")!.Value);   // from tokenizer_config.json's bos_token
        Assert.Equal(257u, gguf.Find("tokenizer.ggml.eos_token_id")!.Value);   // from config.json's eos_token_id
        Assert.Equal("{{ messages }}", gguf.Find("tokenizer.chat_template")!.Value);
    }

    [Fact]
    public void UnmappableOrIntegerTensors_AreRefusedNamingTheTensor()
    {
        string folder = SharedData.TempFolder();
        foreach (string f in (string[])["config.json", "tokenizer.json"]) File.Copy(Path.Combine(SharedData.Require("llm/base-f32"), f), Path.Combine(folder, f));
        using (var store = Checkpoint.Open(SharedData.Require("llm/base-f32")))
        {
            var extra = new TensorInfo("model.layers.0.mlp.experts.weight", DType.F32, new Shape(4));
            using var writer = WeightSpace.Formats.Safetensors.SafetensorsWriter.Create(Path.Combine(folder, "model.safetensors"), [.. store.Tensors, extra]);
            foreach (var t in store.Tensors) writer.Write(t.Name, store.ReadSingle(t.Name));
            writer.Write(extra.Name, (ReadOnlySpan<float>)[1, 2, 3, 4]);
            writer.Commit();
        }
        var e = Refused<InvalidCheckpointException>(folder, "has no GGUF name for a llama model");
        Assert.Equal("model.layers.0.mlp.experts.weight", e.TensorName);
    }

    [Fact]
    public void Cli_ConvertsAFolder_DefaultsToF16_AndRejectsBadTypes()
    {
        string output = Path.Combine(SharedData.TempFolder(), "cli.gguf");
        var ok = CliRunner.Run("convert", SharedData.Require("llm/base-f32"), output);
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("30 f16", ok.Stdout, StringComparison.Ordinal);
        using (var gguf = GgufReader.Open(output, Stored)) Assert.Equal(1u, gguf.Find("general.file_type")!.Value);
        Assert.Equal(2, CliRunner.Run("convert", SharedData.Require("llm/base-f32"), output, "--type", "q9_9").ExitCode);
        var bad = CliRunner.Run("convert", SharedData.Require("llm/lora-python"), Path.Combine(SharedData.TempFolder(), "x.gguf"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Equal(2, CliRunner.Run("convert", SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), output, "--name", "x", "--type", "f16").ExitCode);
    }
}
