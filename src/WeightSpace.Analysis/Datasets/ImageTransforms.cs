namespace WeightSpace.Analysis.Datasets;

/// <summary>Simple deterministic transforms of image datasets, for scoring models on shifted test sets.</summary>
public static class ImageTransforms
{
    /// <summary>Mirrors every image left-right (the last dimension of the sample shape is the width).</summary>
    /// <exception cref="ArgumentException">Samples have fewer than 2 dimensions.</exception>
    public static Dataset MirrorLeftRight(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.SampleShape.Rank < 2) throw new ArgumentException($"Samples of shape {data.SampleShape} are not images.", nameof(data));
        int width = checked((int)data.SampleShape[-1]);
        var features = (float[])data.Features.Clone();
        for (int row = 0; row < features.Length; row += width) features.AsSpan(row, width).Reverse();
        return new Dataset(features, data.Labels, data.SampleShape);
    }

    /// <summary>Replaces every value x by <paramref name="maximum"/> − x (photographic negative).</summary>
    public static Dataset Invert(Dataset data, float maximum = 1f)
    {
        ArgumentNullException.ThrowIfNull(data);
        var features = new float[data.Features.Length];
        System.Numerics.Tensors.TensorPrimitives.Subtract(maximum, data.Features, features);
        return new Dataset(features, data.Labels, data.SampleShape);
    }
}
