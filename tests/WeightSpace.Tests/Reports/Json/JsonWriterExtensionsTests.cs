using System.Text;
using System.Text.Json;
using WeightSpace.Reports.Json;

namespace WeightSpace.Tests.Reports.Json;

public sealed class JsonWriterExtensionsTests
{
    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void WriteObjectArray_TwoItems_WritesOneObjectEachInOrder() =>
        Assert.Equal("""{"rows":[{"n":1,"s":"a"},{"n":2,"s":"b"}]}""",
            Write(w => w.WriteObjectArray("rows", new[] { (1, "a"), (2, "b") }, static (w, r) => { w.WriteNumber("n", r.Item1); w.WriteString("s", r.Item2); })));

    [Fact]
    public void WriteObjectArray_NoItems_WritesEmptyArray() =>
        Assert.Equal("""{"rows":[]}""", Write(w => w.WriteObjectArray("rows", Array.Empty<int>(), static (w, i) => w.WriteNumber("i", i))));

    [Fact]
    public void WriteStringArray_WritesValuesInOrder() =>
        Assert.Equal("""{"files":["b.json","a.json"]}""", Write(w => w.WriteStringArray("files", ["b.json", "a.json"])));

    [Fact]
    public void WriteNumberOrNull_AbsentAndPresent_WritesNullAndNumber() =>
        Assert.Equal("""{"layer":null,"layer2":3}""", Write(w => { w.WriteNumberOrNull("layer", null); w.WriteNumberOrNull("layer2", 3); }));

    [Fact]
    public void WriteStringOrNull_AbsentAndPresent_WritesNullAndString() =>
        Assert.Equal("""{"baseline":null,"norm":"model.norm.weight"}""",
            Write(w => { w.WriteStringOrNull("baseline", null); w.WriteStringOrNull("norm", "model.norm.weight"); }));

    private sealed record Row(string TensorName, int? Layer, double RatioToRms, IReadOnlyList<double> Values)
    {
        public double Doubled => 2 * RatioToRms;
    }

    [Fact]
    public void WriteRecordArray_SnakeCaseInDeclarationOrder_NullAndNonFiniteAsJsonPolicySays() =>
        Assert.Equal("""{"rows":[{"tensor_name":"a","layer":null,"ratio_to_rms":0.5,"values":[1],"doubled":1},{"tensor_name":"b","layer":2,"ratio_to_rms":"NaN","values":[],"doubled":"NaN"}]}""",
            Write(w => w.WriteRecordArray("rows", new[] { new Row("a", null, 0.5, [1.0]), new Row("b", 2, double.NaN, []) })));

    [Fact]
    public void WriteRecordProperties_WritesTheRecordsPropertiesIntoTheOpenObject_ThenTheCallers() =>
        Assert.Equal("""{"rows":[{"tensor_name":"a","layer":1,"ratio_to_rms":"Infinity","values":[],"doubled":"Infinity","message":"m"}]}""",
            Write(w => w.WriteObjectArray("rows", new[] { new Row("a", 1, double.PositiveInfinity, []) }, static (w, r) =>
            {
                w.WriteRecordProperties(r);
                w.WriteString("message", "m");
            })));
}
