using System.Collections.Concurrent;
using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Methods;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>Runs one method's kernel on hand-written tensors, and collects runner output.</summary>
internal static class MergeTestKit
{
    public static float[] Merge(string method, float[]? baseValues, float[][] models, Dictionary<string, double[]>? parameters = null,
        long[]? shape = null, ulong seed = 0)
    {
        var m = MergeMethods.Get(method);
        int n = models[0].Length;
        var info = new TensorInfo("model.layers.0.w", DType.F32, new Shape(shape ?? [n]));
        var ps = MergeParameters.Create(m.Parameters, models.Length, parameters);
        // Copies: methods may overwrite the model buffers.
        var inputs = new MergeInputs(info, baseValues is null ? Memory<float>.Empty : (float[])baseValues.Clone(),
            models.Select(x => (Memory<float>)(float[])x.Clone()).ToArray(), ps, seed);
        var result = new float[n];
        m.Merge(inputs, result);
        return result;
    }

    public static Dictionary<string, double[]> P(params (string Name, double[] Values)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Values);

    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    public static InMemoryTensorStore Store(string name, params (string Tensor, float[] Values, long[] Shape)[] tensors)
    {
        var s = new InMemoryTensorStore(name);
        foreach (var (t, v, sh) in tensors) s.Add(t, v, sh);
        return s;
    }
}

/// <summary>Keeps every written tensor; counts calls to catch duplicates.</summary>
internal sealed class CollectingSink : ITensorSink
{
    public ConcurrentDictionary<string, float[]> Floats { get; } = new();
    public ConcurrentDictionary<string, byte[]> Raw { get; } = new();
    private int _inside;

    public void Write(string name, ReadOnlySpan<float> values)
    {
        Assert.Equal(1, Interlocked.Increment(ref _inside));   // the runner never calls concurrently
        Assert.True(Floats.TryAdd(name, values.ToArray()), $"'{name}' written twice");
        Interlocked.Decrement(ref _inside);
    }

    public void WriteBytes(string name, ReadOnlySpan<byte> values)
    {
        Assert.True(Raw.TryAdd(name, values.ToArray()), $"'{name}' written twice");
    }
}
