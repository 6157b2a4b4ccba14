using System.Text.Json;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Reports.Json;

namespace WeightSpace.Tests.Analysis.Spectra;

public sealed class LayerStatusTests
{
    // The words are the JSON/CSV contract of `spectrum` (docs/spectra.md) and of the spectrum cache's records.
    [Theory]
    [InlineData(LayerStatus.Ok, "ok")]
    [InlineData(LayerStatus.Skipped, "skipped")]
    [InlineData(LayerStatus.Failed, "failed")]
    public void Status_SerialisesAndReadsBackAsItsWord(LayerStatus status, string word)
    {
        Assert.Equal(word, status.ToWord());
        Assert.Equal($"\"{word}\"", JsonSerializer.Serialize(status, JsonPolicy.Serializer));
        Assert.Equal(status, JsonSerializer.Deserialize<LayerStatus>($"\"{word}\"", JsonPolicy.Serializer));
        Assert.Equal($"\"{word}\"", JsonSerializer.Serialize(status));   // the attribute, not the options, sets the words
    }

    [Fact]
    public void ToWord_UndefinedValue_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ((LayerStatus)7).ToWord());
}
