using System.Text.Json.Serialization;

namespace WeightSpace.Analysis.Spectra;

/// <summary>What became of one layer in a spectral analysis. Serialised (JSON, CSV, the spectrum cache) as the words
/// <c>ok</c>, <c>skipped</c> and <c>failed</c>, as WeightWatcher's dataframe does not have but the shared fixtures use.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LayerStatus>))]
public enum LayerStatus
{
    /// <summary>Analysed; its metrics are set.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,
    /// <summary>Not analysed by design (a vector, an embedding left out, a tensor absent from one side); the reason says why.</summary>
    [JsonStringEnumMemberName("skipped")]
    Skipped,
    /// <summary>The analysis threw; the reason holds the error.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}
