using System.Text.Json.Nodes;
using WeightSpace.Analysis.Sharding;

namespace WeightSpace.Tests.Analysis.Sharding;

public sealed class ShardingTests
{
    [Theory]
    [InlineData("1/1", 1, 1)]
    [InlineData("3/8", 3, 8)]
    [InlineData("100000/100000", 100000, 100000)]
    public void Parse_ValidSpec(string text, int number, int count)
    {
        var spec = ShardSpec.Parse(text);
        Assert.Equal((number, count), (spec.Number, spec.Count));
        Assert.Equal(text, spec.ToString());
    }

    [Theory]
    [InlineData("0/4", "shard number 0 is out of range 1..4")]
    [InlineData("5/4", "shard number 5 is out of range 1..4")]
    [InlineData("1/0", "shard count 0")]
    [InlineData("1/100001", "shard count 100001")]
    [InlineData("-1/4", "is not I/N")]
    [InlineData("1", "is not I/N")]
    [InlineData("a/b", "is not I/N")]
    [InlineData("1/ 4", "is not I/N")]
    public void Parse_InvalidSpec_SaysWhy(string text, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => ShardSpec.Parse(text)).Message);

    [Fact]
    public void Plan_LongestFirst_BalancesByCost()
    {
        // LPT by hand, 2 shards: 7→0 (7,0), 5→1 (7,5), 4→1 (7,9), 3→0 (10,9), 2→1 (10,11), 1→0 (11,11).
        var items = new[] { ("a", 7.0), ("b", 5.0), ("c", 4.0), ("d", 3.0), ("e", 2.0), ("f", 1.0) };
        var plan = ShardPlan.Create(items, 2);
        Assert.Equal([11.0, 11.0], plan.Loads);
        Assert.Equal(0, plan.ShardOf("a"));
        Assert.Equal(1, plan.ShardOf("b"));
        Assert.Equal(1, plan.ShardOf("c"));
        Assert.Equal(0, plan.ShardOf("d"));
        Assert.Equal(1, plan.ShardOf("e"));
        Assert.Equal(0, plan.ShardOf("f"));
    }

    [Fact]
    public void Plan_IsDeterministicAndIndependentOfInputOrder()
    {
        var random = new Random(5);
        var items = Enumerable.Range(0, 200).Select(i => ($"t{i}", (double)random.Next(0, 50))).ToList();
        var a = ShardPlan.Create(items, 7);
        var shuffled = items.OrderBy(_ => random.Next()).ToList();
        var b = ShardPlan.Create(shuffled, 7);
        foreach (var (name, _) in items) Assert.Equal(a.ShardOf(name), b.ShardOf(name));
        // Every item in exactly one shard.
        Assert.Equal(200, items.Count(i => Enumerable.Range(1, 7).Count(s => a.Contains(new ShardSpec(s, 7), i.Item1)) == 1));
    }

    [Fact]
    public void Plan_ZeroCostItems_SpreadOverShards()
    {
        var plan = ShardPlan.Create(Enumerable.Range(0, 8).Select(i => ($"n{i}", 0.0)), 4);
        Assert.All(Enumerable.Range(0, 4), s => Assert.Equal(2, Enumerable.Range(0, 8).Count(i => plan.ShardOf($"n{i}") == s)));
    }

    [Fact]
    public void Plan_RefusesDuplicatesAndBadCosts()
    {
        Assert.Throws<ArgumentException>(() => ShardPlan.Create([("a", 1), ("a", 2)], 2));
        Assert.Throws<ArgumentException>(() => ShardPlan.Create([("a", double.NaN)], 2));
        Assert.Throws<ArgumentException>(() => ShardPlan.Create([("a", -1)], 2));
    }

    private static PartFile Part(int number, int count, string[] all, string[] mine, string options = "o", string model = "m", string version = "1") => new()
    {
        ToolVersion = version, Verb = "spectrum", Models = [model], Options = options, Shard = new ShardSpec(number, count), AllItems = all,
        Items = mine.ToDictionary(n => n, n => (JsonNode)new JsonObject { ["name"] = n, ["value"] = n.Length }),
        Provenance = new JsonObject { ["host"] = "node" + number },
    };

    private static string[] WriteParts(string dir, params PartFile[] parts) =>
        parts.Select((p, i) => { string path = Path.Combine(dir, $"p{i}.json"); p.Write(path); return path; }).ToArray();

    [Fact]
    public void Combine_RestoresSingleRunOrder()
    {
        string dir = SharedData.TempFolder();
        string[] all = ["x", "yy", "zzz", "w"];
        var paths = WriteParts(dir, Part(2, 2, all, ["yy", "w"]), Part(1, 2, all, ["zzz", "x"]));
        var combined = PartCombiner.Combine(paths, expectedCount: 2);
        Assert.Equal(all, combined.Items.Select(i => i.Key));
        Assert.Equal(3, combined.Items[2].Value["value"]!.GetValue<int>());
        Assert.Equal("node2", PartFile.Read(paths[0]).Provenance!["host"]!.GetValue<string>());
    }

    [Fact]
    public void Combine_MissingShard_NamesItAndItsLog()
    {
        string dir = SharedData.TempFolder();
        string[] all = ["a", "b", "c"];
        var paths = WriteParts(dir, Part(1, 3, all, ["a"]), Part(3, 3, all, ["c"]));
        var e = Assert.Throws<InvalidPartException>(() => PartCombiner.Combine([.. paths, Path.Combine(dir, "absent.json")], 3, "/run/logs"));
        Assert.Contains("1 of 3 shards have no part: 2/3", e.Message);
        Assert.Contains("/run/logs/task-00001.log", e.Message);
    }

    [Theory]
    [InlineData("options", "options 'other' differs")]
    [InlineData("model", "models 'other' differs")]
    [InlineData("version", "tool version 'other' differs")]
    public void Combine_PartsOfDifferentRuns_AreRefused(string field, string message)
    {
        string dir = SharedData.TempFolder();
        string[] all = ["a", "b"];
        var second = field switch
        {
            "options" => Part(2, 2, all, ["b"], options: "other"),
            "model" => Part(2, 2, all, ["b"], model: "other"),
            _ => Part(2, 2, all, ["b"], version: "other"),
        };
        var paths = WriteParts(dir, Part(1, 2, all, ["a"]), second);
        Assert.Contains(message, Assert.Throws<InvalidPartException>(() => PartCombiner.Combine(paths)).Message);
    }

    [Fact]
    public void Combine_DuplicateShardOrItem_AndWrongCount_AreRefused()
    {
        string dir = SharedData.TempFolder();
        string[] all = ["a", "b"];
        var twice = WriteParts(dir, Part(1, 2, all, ["a"]), Part(1, 2, all, ["a"]));
        Assert.Contains("is also given by", Assert.Throws<InvalidPartException>(() => PartCombiner.Combine(twice)).Message);
        var overlap = WriteParts(SharedData.TempFolder(), Part(1, 2, all, ["a", "b"]), Part(2, 2, all, ["b"]));
        Assert.Contains("item 'b' is also in", Assert.Throws<InvalidPartException>(() => PartCombiner.Combine(overlap)).Message);
        var count = WriteParts(SharedData.TempFolder(), Part(1, 2, all, ["a"]), Part(2, 2, all, ["b"]));
        Assert.Contains("expected 4 shards", Assert.Throws<InvalidPartException>(() => PartCombiner.Combine(count, expectedCount: 4)).Message);
    }

    [Theory]
    [InlineData("{}", "not a WeightSpace part")]
    [InlineData("[1,2]", "not a WeightSpace part")]
    [InlineData("{\"weightspace_part\": 9}", "part format 9")]
    [InlineData("{\"weightspace_part\": 1, \"shard\": {\"number\": 5, \"count\": 2}}", "shard 5/2 is out of range")]
    [InlineData("{\"weightspace_part\": 1, \"shard\": {\"number\": \"x\", \"count\": 2}}", "malformed part")]
    [InlineData("{\"weightspace_part\": 1", "not JSON")]
    public void Read_HostilePart_IsRefused(string json, string message)
    {
        string path = Path.Combine(SharedData.TempFolder(), "part.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidPartException>(() => PartFile.Read(path));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path, e.Message);
    }
}
