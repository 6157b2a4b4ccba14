using System.Text.Json;
using WeightSpace.Reports;
using WeightSpace.Reports.Json;
using WeightSpace.Tests.Reports.Spectra;

namespace WeightSpace.Tests.Reports;

/// <summary>One CSV writer and one JSON policy: the same text for the same value wherever it is written.</summary>
public sealed class OutputPolicyTests
{
    [Fact]
    public void Csv_QuotesOnlyWhatRfc4180Needs_AndReadsBack()
    {
        object?[][] rows =
        [
            ["plain", 1.5, 3L, true, null],
            ["a,b", double.NaN, -7, false, "say \"hi\""],
            ["two\nlines", double.PositiveInfinity, 0.1f, null, double.NegativeInfinity],
        ];
        string text = CsvWriter.Format(["name", "x", "n", "flag", "note"], rows);
        Assert.StartsWith("name,x,n,flag,note\r\nplain,1.5,3,true,\r\n\"a,b\",NaN,-7,false,\"say \"\"hi\"\"\"\r\n", text);
        var parsed = RfcCsv.Parse(text);
        Assert.Equal(4, parsed.Count);
        Assert.Equal(["two\nlines", "Infinity", "0.1", "", "-Infinity"], parsed[3]);
    }

    [Fact]
    public void Json_NonFiniteDoubles_AreTheSameStringsFromTheSerializerAndTheHandWriter()
    {
        double[] values = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.25];
        string serialized = JsonSerializer.Serialize(values, JsonPolicy.Serializer);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, JsonPolicy.WriterOptions))
        {
            w.WriteStartArray();
            foreach (double v in values) JsonNumbers.WriteValue(w, v);
            w.WriteEndArray();
        }
        string handWritten = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Equal(Compact(handWritten), Compact(serialized));
        Assert.Equal("[\"NaN\",\"Infinity\",\"-Infinity\",0.25]", Compact(serialized));
        var back = JsonSerializer.Deserialize<double[]>(serialized, JsonPolicy.Serializer)!;
        Assert.True(double.IsNaN(back[0]) && double.IsPositiveInfinity(back[1]) && double.IsNegativeInfinity(back[2]));
        using var doc = JsonDocument.Parse(handWritten);
        Assert.Equal(values, doc.RootElement.EnumerateArray().Select(JsonNumbers.Read));
    }

    private static string Compact(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
