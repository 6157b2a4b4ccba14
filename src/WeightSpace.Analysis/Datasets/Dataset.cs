namespace WeightSpace.Analysis.Datasets;

/// <summary>A labelled classification dataset held in memory: <see cref="Features"/> is a flat float32 array of
/// shape [<see cref="Count"/>, <see cref="FeatureCount"/>] (C order), one integer class per sample.</summary>
/// <remarks>Each sample keeps its natural shape in <see cref="SampleShape"/> (e.g. [28, 28] for an IDX image) so
/// convolutional models can view it as an image; a flat model reads it as <see cref="FeatureCount"/> numbers.</remarks>
public sealed record Dataset
{
    /// <summary>Creates a dataset after checking that the lengths agree.</summary>
    /// <exception cref="ArgumentException">The feature count is not labels × sample size, or a label is negative.</exception>
    public Dataset(float[] features, int[] labels, Shape sampleShape)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.LongLength != labels.LongLength * sampleShape.ElementCount)
            throw new ArgumentException($"{features.Length} features do not make {labels.Length} samples of shape {sampleShape}.", nameof(features));
        foreach (int label in labels)
            if (label < 0) throw new ArgumentException($"Label {label} is negative.", nameof(labels));
        Features = features;
        Labels = labels;
        SampleShape = sampleShape;
    }

    /// <summary>All features, sample after sample.</summary>
    public float[] Features { get; }

    /// <summary>The class of each sample (non-negative).</summary>
    public int[] Labels { get; }

    /// <summary>Shape of one sample, e.g. [28, 28] or [64].</summary>
    public Shape SampleShape { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Numbers per sample (product of <see cref="SampleShape"/>).</summary>
    public int FeatureCount => (int)SampleShape.ElementCount;

    /// <summary>One more than the largest label (0 for an empty dataset).</summary>
    public int ClassCount => Labels.Length == 0 ? 0 : Labels.Max() + 1;

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index) => Features.AsSpan(checked(index * FeatureCount), FeatureCount);

    /// <summary>A new dataset of the samples at <paramref name="indices"/>, in that order (features copied).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, <see cref="Count"/>).</exception>
    public Dataset Select(ReadOnlySpan<int> indices)
    {
        int d = FeatureCount;
        var features = new float[checked(indices.Length * d)];
        var labels = new int[indices.Length];
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside [0, {Count}).");
            Features.AsSpan(i * d, d).CopyTo(features.AsSpan(k * d, d));
            labels[k] = Labels[i];
        }
        return new Dataset(features, labels, SampleShape);
    }

    /// <summary>The first <paramref name="count"/> samples (all if fewer).</summary>
    public Dataset Take(int count)
    {
        count = Math.Clamp(count, 0, Count);
        return new Dataset(Features[..(count * FeatureCount)], Labels[..count], SampleShape);
    }

    /// <summary>A new dataset whose features are multiplied by <paramref name="factor"/> (e.g. 1/255 for 8-bit pixels).</summary>
    public Dataset Scale(float factor)
    {
        var features = new float[Features.Length];
        System.Numerics.Tensors.TensorPrimitives.Multiply(Features, factor, features);
        return new Dataset(features, Labels, SampleShape);
    }
}
