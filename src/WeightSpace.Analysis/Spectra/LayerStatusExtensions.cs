namespace WeightSpace.Analysis.Spectra;

/// <summary>The word of a <see cref="LayerStatus"/>, for tables and CSV cells.</summary>
public static class LayerStatusExtensions
{
    /// <summary><c>ok</c>, <c>skipped</c> or <c>failed</c>: the same word the JSON documents carry.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="status"/> is not a defined value.</exception>
    public static string ToWord(this LayerStatus status) => status switch
    {
        LayerStatus.Ok => "ok",
        LayerStatus.Skipped => "skipped",
        LayerStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a LayerStatus."),
    };
}
