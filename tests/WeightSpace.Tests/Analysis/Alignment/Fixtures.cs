using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary>Small random networks and data for alignment and connectivity tests.</summary>
internal static class Fixtures
{
    public static float[] Random(Random rng, long count, double scale = 1, double offset = 0)
    {
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(offset + scale * (rng.NextDouble() * 2 - 1));
        return v;
    }

    /// <summary>MLP with layers fc1…fcK of the given widths (input first).</summary>
    public static InMemoryTensorStore Mlp(int seed, params int[] widths) => Mlp(seed, 0, widths);

    /// <summary>As <see cref="Mlp(int, int[])"/> with every bias shifted by <paramref name="biasOffset"/> (a large one
    /// keeps every ReLU alive, so no two units are indistinguishable by their activations).</summary>
    public static InMemoryTensorStore Mlp(int seed, double biasOffset, params int[] widths)
    {
        var rng = new Random(seed);
        var store = new InMemoryTensorStore($"mlp{seed}");
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            store.Add($"fc{i + 1}.weight", Random(rng, widths[i + 1] * widths[i], 1 / Math.Sqrt(widths[i])), widths[i + 1], widths[i]);
            store.Add($"fc{i + 1}.bias", Random(rng, widths[i + 1], 0.3, biasOffset), widths[i + 1]);
        }
        return store;
    }

    public static NetworkArchitecture MlpArchitecture(int layers) => NetworkArchitecture.Mlp(Enumerable.Range(1, layers).Select(i => $"fc{i}"));

    /// <summary>Conv(1→6) BN ReLU Pool Conv(6→8) BN ReLU Pool Flatten Linear(8·2·2→10) ReLU Linear(10→3), for 8×8 inputs.</summary>
    public static (InMemoryTensorStore Store, NetworkArchitecture Architecture) Cnn(int seed, double biasOffset = 0)
    {
        var rng = new Random(seed);
        var store = new InMemoryTensorStore($"cnn{seed}");
        void Conv(string name, int cin, int cout)
        {
            store.Add($"{name}.weight", Random(rng, cout * cin * 9, 1 / Math.Sqrt(cin * 9)), cout, cin, 3, 3);
            store.Add($"{name}.bias", Random(rng, cout, 0.2), cout);
        }
        void Bn(string name, int c)
        {
            store.Add($"{name}.weight", Random(rng, c, 0.5, 1), c);
            store.Add($"{name}.bias", Random(rng, c, 0.2, biasOffset), c);
            store.Add($"{name}.running_mean", Random(rng, c, 0.3), c);
            store.Add($"{name}.running_var", Random(rng, c, 0.5, 1), c);
            store.Add(new TensorInfo($"{name}.num_batches_tracked", DType.I64, Shape.Scalar), BitConverter.GetBytes(7L));
        }
        Conv("layers.0", 1, 6);
        Bn("layers.1", 6);
        Conv("layers.2", 6, 8);
        Bn("layers.3", 8);
        store.Add("layers.4.weight", Random(rng, 10 * 32, 1 / Math.Sqrt(32)), 10, 32);
        store.Add("layers.4.bias", Random(rng, 10, 0.2, biasOffset), 10);
        store.Add("layers.5.weight", Random(rng, 3 * 10, 1 / Math.Sqrt(10)), 3, 10);
        store.Add("layers.5.bias", Random(rng, 3, 0.2), 3);
        var arch = new NetworkArchitecture([
            NetworkLayer.Conv2d("layers.0", padding: 1), NetworkLayer.BatchNorm("layers.1"), NetworkLayer.Relu(), NetworkLayer.MaxPool2d(2),
            NetworkLayer.Conv2d("layers.2", padding: 1), NetworkLayer.BatchNorm("layers.3"), NetworkLayer.Relu(), NetworkLayer.MaxPool2d(2),
            NetworkLayer.Flatten(), NetworkLayer.Linear("layers.4"), NetworkLayer.Relu(), NetworkLayer.Linear("layers.5"),
        ]);
        return (store, arch);
    }

    /// <summary>Random inputs with random labels in [0, classes).</summary>
    public static Dataset Data(int seed, int count, Shape sampleShape, int classes)
    {
        var rng = new Random(seed);
        var labels = Enumerable.Range(0, count).Select(_ => rng.Next(classes)).ToArray();
        return new Dataset(Random(rng, count * sampleShape.ElementCount), labels, sampleShape);
    }

    public static int[] RandomPermutation(Random rng, int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(p);
        return p;
    }

    public static Dictionary<string, int[]> RandomPermutations(int seed, IReadOnlyDictionary<string, int> sizes)
    {
        var rng = new Random(seed);
        return sizes.ToDictionary(kv => kv.Key, kv => RandomPermutation(rng, kv.Value));
    }

    public static float[] Outputs(NetworkArchitecture arch, TensorStore store, Dataset data)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var w = TorchWeights.ToTensors(store);
        var shape = new long[] { data.Count }.Concat(data.SampleShape).ToArray();
        var x = TorchSharp.torch.tensor(data.Features, shape);
        return arch.Forward(w, x).data<float>().ToArray();
    }

    public static void AssertStoresEqual(TensorStore expected, TensorStore actual)
    {
        Assert.Equal(expected.Tensors.Select(t => t.ToString()), actual.Tensors.Select(t => t.ToString()));
        foreach (var t in expected.Tensors)
        {
            using var a = expected.Read(t.Name);
            using var b = actual.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), $"tensor '{t.Name}' differs");
        }
    }
}
