namespace WeightSpace.Analysis.Evaluation;

/// <summary>Labelled examples for a classifier: features as one row-major float32 block plus one class index per row.</summary>
public sealed class ClassificationDataset
{
    /// <summary>Wraps <paramref name="features"/> ([count, featureCount], row-major) and <paramref name="labels"/>.</summary>
    /// <exception cref="ArgumentException">Lengths disagree, or a label is negative.</exception>
    public ClassificationDataset(string name, float[] features, int[] labels, int featureCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        if ((long)labels.Length * featureCount != features.Length)
            throw new ArgumentException($"{name}: {features.Length} feature values are not {labels.Length} rows × {featureCount}.", nameof(features));
        if (labels.Any(l => l < 0)) throw new ArgumentException($"{name}: labels must be class indices ≥ 0.", nameof(labels));
        Name = name;
        Features = features;
        Labels = labels;
        FeatureCount = featureCount;
    }

    /// <summary>A label for reports, e.g. <c>digits test (fliplr)</c>.</summary>
    public string Name { get; }

    /// <summary>[Count, FeatureCount] row-major.</summary>
    public float[] Features { get; }

    /// <summary>Class index of each row.</summary>
    public int[] Labels { get; }

    /// <summary>Features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Rows.</summary>
    public int Count => Labels.Length;
}
