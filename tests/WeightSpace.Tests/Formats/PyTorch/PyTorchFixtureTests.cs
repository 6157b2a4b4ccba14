using System.Text.Json;
using WeightSpace.Formats.PyTorch;

namespace WeightSpace.Tests.Formats.PyTorch;

/// <summary>Every fixture in shared/data/torch against the expected.json real PyTorch wrote beside it.</summary>
public sealed class PyTorchFixtureTests
{
    public static TheoryData<string> Fixtures => new()
    {
        "dtypes_zip.pt", "dtypes_legacy.pt", "shared_storage_zip.pt", "shared_storage_legacy.pt", "tied_weights.pt",
        "nested_metadata.pt", "nested_metadata_nofloat_legacy.pth", "mlp_state_dict.pt", "mlp_state_dict_legacy.pth",
        "mlp_parameters_keep_vars.bin", "cnn_state_dict.pth", "checkpoint_protocol4.pt",
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Open_Fixture_ListsExpectedNamesDTypesAndShapes(string file)
    {
        using var doc = SharedData.Json($"torch/{file}.expected.json");
        using var store = PyTorchReader.Open(SharedData.Require($"torch/{file}"));
        var expected = doc.RootElement.GetProperty("tensors");

        Assert.Equal(CheckpointFormat.PyTorch, store.Format);
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name), store.Tensors.Select(t => t.Name));
        Assert.Equal(doc.RootElement.GetProperty("tensor_count").GetInt32(), store.Tensors.Count);
        foreach (var p in expected.EnumerateObject())
        {
            var info = store.GetInfo(p.Name);
            Assert.Equal(ParseDType(p.Value.GetProperty("dtype").GetString()!), info.DType);
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), info.Shape);
        }
        Assert.Equal(doc.RootElement.GetProperty("format").GetString(), store.Metadata["format"]);
        Assert.Equal(doc.RootElement.GetProperty("pickle_protocol").GetInt32().ToString(), store.Metadata["pickle_protocol"]);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Read_Fixture_ReproducesHashesSumsAndElements(string file)
    {
        using var doc = SharedData.Json($"torch/{file}.expected.json");
        using var store = PyTorchReader.Open(SharedData.Require($"torch/{file}"));
        foreach (var p in doc.RootElement.GetProperty("tensors").EnumerateObject())
            ExpectedTensor.AssertMatches(store, p.Name, p.Value);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Open_Fixture_KeepsStridesOffsetsAndStorageSharing(string file)
    {
        using var doc = SharedData.Json($"torch/{file}.expected.json");
        using var opened = PyTorchReader.Open(SharedData.Require($"torch/{file}"));
        var store = (PyTorchTensorStore)opened;
        foreach (var p in doc.RootElement.GetProperty("tensors").EnumerateObject())
        {
            var entry = store.Entry(p.Name);
            Assert.Equal(p.Value.GetProperty("stride").EnumerateArray().Select(d => d.GetInt64()), entry.Strides);
            Assert.Equal(p.Value.GetProperty("storage_offset").GetInt64(), entry.StorageOffset);
            Assert.Equal(p.Value.GetProperty("is_contiguous").GetBoolean(), entry.IsContiguous);
        }

        // Groups of names sharing one storage (only storages behind two or more names are listed). The generator
        // groups by data_ptr(), which is null for every empty storage, so it lumps the empty F32 and I64 tensors of
        // dtypes_* together although the file gives them separate storages of different types: skip all-empty groups.
        var tensors = doc.RootElement.GetProperty("tensors");
        var expectedGroups = doc.RootElement.GetProperty("shared_storage_groups").EnumerateArray()
            .Where(g => g.EnumerateArray().Any(n => tensors.GetProperty(n.GetString()!).GetProperty("numel").GetInt64() > 0))
            .Select(g => string.Join(",", g.EnumerateArray().Select(n => n.GetString()).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal);
        var actualGroups = store.Tensors.GroupBy(t => store.Entry(t.Name).StorageKey).Where(g => g.Count() > 1)
            .Select(g => string.Join(",", g.Select(t => t.Name).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expectedGroups, actualGroups);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Open_Fixture_FindsStorageDataWhereTorchWroteIt(string file)
    {
        using var doc = SharedData.Json($"torch/{file}.expected.json");
        using var opened = PyTorchReader.Open(SharedData.Require($"torch/{file}"));
        var store = (PyTorchTensorStore)opened;
        var details = doc.RootElement.GetProperty("format_details");
        if (store.Metadata["format"] == "zip")
        {
            string prefix = details.GetProperty("archive_prefix").GetString()!;
            Assert.Equal(prefix.TrimEnd('/'), store.Metadata["archive_name"]);
            var byName = store.ZipEntries!.ToDictionary(e => e.Name);
            var expectedEntries = details.GetProperty("zip_entries").EnumerateArray().ToList();
            Assert.Equal(expectedEntries.Count, byName.Count);
            foreach (var e in expectedEntries)
            {
                var actual = byName[e.GetProperty("name").GetString()!];
                Assert.Equal(e.GetProperty("size").GetInt64(), actual.UncompressedSize);
                Assert.Equal(e.GetProperty("compress_type").GetInt32(), actual.Method);
                Assert.Equal(e.GetProperty("local_header_offset").GetInt64(), actual.LocalHeaderOffset);
                Assert.Equal(e.GetProperty("data_offset").GetInt64(), actual.DataOffset);
                string name = actual.Name;
                if (name.StartsWith(prefix + "data/", StringComparison.Ordinal))
                    Assert.Equal(actual.DataOffset, store.StorageDataOffsets[name[(prefix.Length + 5)..]]);
            }
        }
        else
        {
            Assert.Equal(details.GetProperty("main_pickle_offset").GetInt64().ToString(), store.Metadata["main_pickle_offset"]);
            Assert.Equal(details.GetProperty("storages_offset").GetInt64().ToString(), store.Metadata["storages_offset"]);
            Assert.Equal(details.GetProperty("legacy_protocol_version").GetInt64().ToString(), store.Metadata["legacy_protocol_version"]);
            var storages = details.GetProperty("storages").EnumerateArray().ToList();
            Assert.Equal(storages.Count, store.StorageDataOffsets.Count);
            foreach (var s in storages)
                Assert.Equal(s.GetProperty("data_offset").GetInt64(), store.StorageDataOffsets[s.GetProperty("key").GetString()!]);
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Open_Fixture_NamesFollowTheObjectTreeAndScalarsBecomeMetadata(string file)
    {
        using var doc = SharedData.Json($"torch/{file}.expected.json");
        using var store = PyTorchReader.Open(SharedData.Require($"torch/{file}"));
        var tensorNames = new List<string>();
        var scalars = new Dictionary<string, JsonElement>();
        WalkTree(doc.RootElement.GetProperty("tree"), null, tensorNames, scalars);

        Assert.Equal(tensorNames, store.Tensors.Select(t => t.Name));
        foreach (var (path, value) in scalars)
        {
            string actual = store.Metadata["object/" + path];
            switch (value.GetProperty("type").GetString())
            {
                case "float": Assert.Equal(value.GetProperty("value").GetDouble(), double.Parse(actual, System.Globalization.CultureInfo.InvariantCulture)); break;
                case "int": Assert.Equal(value.GetProperty("value").GetRawText(), actual); break;
                case "bool": Assert.Equal(value.GetProperty("value").GetBoolean() ? "True" : "False", actual); break;
                case "None": Assert.Equal("None", actual); break;
                default: Assert.Equal(value.GetProperty("value").GetString(), actual); break;
            }
        }
        Assert.DoesNotContain(store.Metadata.Keys, k => k.Contains("_metadata", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mlp_seed0")]
    [InlineData("mlp_seed1")]
    [InlineData("mlp_ft_fliplr")]
    [InlineData("mlp_ft_invert")]
    public void Read_DigitsMlp_MatchesTheSafetensorsTwinByteForByte(string model)
    {
        using var store = PyTorchReader.Open(SharedData.Require($"digits_mlp/{model}.pt"));
        byte[] twin = File.ReadAllBytes(SharedData.Require($"digits_mlp/{model}.safetensors"));
        long headerLength = BitConverter.ToInt64(twin, 0);
        using var header = JsonDocument.Parse(twin.AsMemory(8, (int)headerLength));
        var names = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
        Assert.Equal(names.Select(p => p.Name).Order(), store.Tensors.Select(t => t.Name).Order());
        foreach (var p in names)
        {
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt32()).ToArray();
            using var buffer = store.Read(p.Name);
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), buffer.Info.Shape);
            Assert.True(buffer.Bytes.SequenceEqual(twin.AsSpan(8 + (int)headerLength + offsets[0], offsets[1] - offsets[0])), p.Name);
        }
    }

    private static void WalkTree(JsonElement node, string? path, List<string> tensors, Dictionary<string, JsonElement> scalars)
    {
        string type = node.GetProperty("type").GetString()!;
        switch (type)
        {
            case "tensor":
                tensors.Add(path ?? "tensor");
                break;
            case "dict" or "OrderedDict":
                foreach (var item in node.GetProperty("items").EnumerateArray())
                {
                    var key = item[0];
                    string k = key.GetProperty("type").GetString() == "int" ? key.GetProperty("value").GetRawText() : key.GetProperty("value").GetString()!;
                    WalkTree(item[1], path is null ? k : path + "/" + k, tensors, scalars);
                }
                break;
            case "list" or "tuple":
            {
                int i = 0;
                foreach (var item in node.GetProperty("items").EnumerateArray())
                {
                    string k = (i++).ToString();
                    WalkTree(item, path is null ? k : path + "/" + k, tensors, scalars);
                }
                break;
            }
            default:
                if (path is not null) scalars[path] = node;
                break;
        }
    }

    internal static DType ParseDType(string torchName) => torchName switch
    {
        "float32" => DType.F32, "float64" => DType.F64, "float16" => DType.F16, "bfloat16" => DType.BF16,
        "int64" => DType.I64, "int32" => DType.I32, "int16" => DType.I16, "int8" => DType.I8,
        "uint8" => DType.U8, "bool" => DType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(torchName), torchName, null),
    };
}
