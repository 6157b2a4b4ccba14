using System.IO.Compression;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>The PyTorch-trained digits MLPs of ../shared/data/digits_mlp and the digits test split, for checks against
/// the generator's expected.json. The accuracy here is a plain-loop forward pass, independent of
/// <see cref="WeightSpace.Analysis.Evaluation.TorchModelEvaluator"/>.</summary>
internal static class DigitsFixture
{
    /// <summary>Opens a shared-data checkpoint with the library's reader (<see cref="Checkpoint.Open"/>).</summary>
    public static TensorStore Load(string relative) => Checkpoint.Open(SharedData.Require(relative));

    /// <summary>Test split (row index % 5 == 0) as 64 pixels/16 and labels, optionally mirrored or inverted like the generator.</summary>
    public static (float[][] X, int[] Y) TestSet(string transform)
    {
        using var gz = new GZipStream(File.OpenRead(SharedData.Require("datasets/sklearn/digits.csv.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        var xs = new List<float[]>();
        var ys = new List<int>();
        int row = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine(), row++)
        {
            if (row % 5 != 0) continue;
            var cells = line.Split(',').Select(int.Parse).ToArray();
            var x = cells.Take(64).Select(v => v / 16f).ToArray();
            if (transform == "fliplr") x = Enumerable.Range(0, 64).Select(i => x[i / 8 * 8 + (7 - i % 8)]).ToArray();
            else if (transform == "invert") x = x.Select(v => 1 - v).ToArray();
            xs.Add(x);
            ys.Add(cells[64]);
        }
        return (xs.ToArray(), ys.ToArray());
    }

    /// <summary>Accuracy of fc1 64→128, ReLU, fc2 128→128, ReLU, fc3 128→10 (torch Linear: weight [out, in]).</summary>
    public static double Accuracy(Func<string, float[]> tensor, (float[][] X, int[] Y) data)
    {
        int correct = 0;
        for (int s = 0; s < data.X.Length; s++)
        {
            var h = Layer(tensor("fc1.weight"), tensor("fc1.bias"), data.X[s], relu: true);
            h = Layer(tensor("fc2.weight"), tensor("fc2.bias"), h, relu: true);
            var logits = Layer(tensor("fc3.weight"), tensor("fc3.bias"), h, relu: false);
            if (Array.IndexOf(logits, logits.Max()) == data.Y[s]) correct++;
        }
        return correct / (double)data.X.Length;
    }

    private static float[] Layer(float[] w, float[] b, float[] x, bool relu)
    {
        var y = new float[b.Length];
        for (int o = 0; o < b.Length; o++)
        {
            float acc = b[o] + System.Numerics.Tensors.TensorPrimitives.Dot(w.AsSpan(o * x.Length, x.Length), x);
            y[o] = relu ? Math.Max(acc, 0) : acc;
        }
        return y;
    }
}
