using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using static TorchSharp.torch;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary>A two-stage ResNet in torchvision naming (BasicBlocks, a downsample in stage 2), with a functional forward
/// written here independently of the library, so the ResNet spec can be checked by running it.</summary>
internal static class TinyResNet
{
    public static InMemoryTensorStore Store(int seed)
    {
        var rng = new Random(seed);
        var s = new InMemoryTensorStore($"resnet{seed}");
        void Conv(string name, int cin, int cout, int k) => s.Add($"{name}.weight", Fixtures.Random(rng, cout * cin * k * k, 1 / Math.Sqrt(cin * k * k)), cout, cin, k, k);
        void Bn(string name, int c)
        {
            s.Add($"{name}.weight", Fixtures.Random(rng, c, 0.5, 1), c);
            s.Add($"{name}.bias", Fixtures.Random(rng, c, 0.2), c);
            s.Add($"{name}.running_mean", Fixtures.Random(rng, c, 0.3), c);
            s.Add($"{name}.running_var", Fixtures.Random(rng, c, 0.5, 1), c);
        }
        Conv("conv1", 3, 4, 3); Bn("bn1", 4);
        Conv("layer1.0.conv1", 4, 5, 3); Bn("layer1.0.bn1", 5); Conv("layer1.0.conv2", 5, 4, 3); Bn("layer1.0.bn2", 4);
        Conv("layer2.0.conv1", 4, 6, 3); Bn("layer2.0.bn1", 6); Conv("layer2.0.conv2", 6, 7, 3); Bn("layer2.0.bn2", 7);
        Conv("layer2.0.downsample.0", 4, 7, 1); Bn("layer2.0.downsample.1", 7);
        Conv("layer2.1.conv1", 7, 3, 3); Bn("layer2.1.bn1", 3); Conv("layer2.1.conv2", 3, 7, 3); Bn("layer2.1.bn2", 7);
        s.Add("fc.weight", Fixtures.Random(rng, 4 * 7, 0.4), 4, 7);
        s.Add("fc.bias", Fixtures.Random(rng, 4, 0.2), 4);
        return s;
    }

    public static float[] Forward(TensorStore store, Dataset data)
    {
        using var scope = NewDisposeScope();
        var w = TorchWeights.ToTensors(store);
        Tensor Conv(Tensor x, string name, int stride = 1)
        {
            long k = w[name + ".weight"].shape[2];
            return nn.functional.conv2d(x, w[name + ".weight"], null, strides: [stride, stride], padding: [k / 2, k / 2]);
        }
        Tensor Bn(Tensor x, string name) =>
            nn.functional.batch_norm(x, w[name + ".running_mean"], w[name + ".running_var"], w[name + ".weight"], w[name + ".bias"], false, 0.1, 1e-5);
        Tensor Block(Tensor x, string p, int stride, bool downsample)
        {
            var h = nn.functional.relu(Bn(Conv(x, p + ".conv1", stride), p + ".bn1"));
            h = Bn(Conv(h, p + ".conv2"), p + ".bn2");
            var skip = downsample ? Bn(Conv(x, p + ".downsample.0", stride), p + ".downsample.1") : x;
            return nn.functional.relu(h + skip);
        }
        var x = tensor(data.Features, [data.Count, 3, 8, 8]);
        x = nn.functional.relu(Bn(Conv(x, "conv1"), "bn1"));
        x = Block(x, "layer1.0", 1, false);
        x = Block(x, "layer2.0", 2, true);
        x = Block(x, "layer2.1", 1, false);
        x = x.mean([2, 3]);
        return nn.functional.linear(x, w["fc.weight"], w["fc.bias"]).data<float>().ToArray();
    }
}
