using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using MathNet.Numerics.LinearAlgebra;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Cli;
using WeightSpace.Cli.Commands;
using WeightSpace.Formats;
using WeightSpace.Tests.Reports.Spectra;

namespace WeightSpace.Tests.Cli;

public sealed class SpectrumCommandTests
{
    private static readonly string[] IssueLayerFields =
    [
        "name", "shape", "kind", "num_evals", "lambda_max", "stable_rank", "effective_rank", "alpha", "alpha_weighted",
        "ks_distance", "xmin", "log_norm", "log_spectral_norm", "mp_softrank", "num_spikes", "status", "reason",
    ];

    /// <summary>σ_max of a stored 2-D tensor by MathNet's managed SVD in float64: independent of torch.</summary>
    private static double SigmaMax(string path, string tensor)
    {
        using var store = Checkpoint.Open(path);
        var info = store.GetInfo(tensor);
        using var buffer = store.Read(tensor);
        double[] values = buffer.ToDoubleArray();
        int rows = (int)info.Shape[0], cols = (int)info.Shape[1];
        var w = Matrix<double>.Build.Dense(rows, cols, (i, j) => values[i * cols + j]);
        return w.Svd(computeVectors: false).S[0];
    }

    [Fact]
    public void Json_DigitsMlp_IssueShapeAndLambdaMaxIsSigmaMaxSquared()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        var r = CliRunner.Run("spectrum", path, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(path, root.GetProperty("path").GetString());
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(6, layers.Count);
        foreach (var layer in layers)
        {
            foreach (string field in IssueLayerFields) Assert.True(layer.TryGetProperty(field, out _), $"missing '{field}'");
            Assert.False(layer.TryGetProperty("eigenvalues", out _));
            string name = layer.GetProperty("name").GetString()!;
            if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                Assert.Equal("skipped", layer.GetProperty("status").GetString());
                Assert.Contains("1-D", layer.GetProperty("reason").GetString());
                Assert.Equal(JsonValueKind.Null, layer.GetProperty("lambda_max").ValueKind);
                continue;
            }
            Assert.Equal("ok", layer.GetProperty("status").GetString());
            Assert.Equal("dense", layer.GetProperty("kind").GetString());
            double sigma = SigmaMax(path, name);
            // float32 SVD against float64: σ_max is well conditioned, relative error a few ε₃₂ (1.2e-7).
            Assert.Equal(sigma * sigma, layer.GetProperty("lambda_max").GetDouble(), 1e-5 * sigma * sigma);
            Assert.Equal(Math.Log10(sigma * sigma), layer.GetProperty("log_spectral_norm").GetDouble(), 1e-5);
            var shape = layer.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(Math.Min(shape[0], shape[1]), layer.GetProperty("num_evals").GetInt32());
        }
        var summary = root.GetProperty("summary");
        Assert.Equal(3, summary.GetProperty("layers_ok").GetInt32());
        Assert.Equal(3, summary.GetProperty("layers_skipped").GetInt32());
        Assert.Equal(3, summary.GetProperty("alpha").GetProperty("count").GetInt32());
    }

    [Fact]
    public void JsonEigenvalues_ArraysPresent_MaxIsLambdaMax()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        var r = CliRunner.Run("spectrum", path, "--json", "--json-eigenvalues", "--filter", "fc2");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var fc2 = doc.RootElement.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("status").GetString() == "ok");
        var evals = fc2.GetProperty("eigenvalues").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(128, evals.Length);
        Assert.Equal(fc2.GetProperty("lambda_max").GetDouble(), evals.Max());
        Assert.Equal(Math.Pow(fc2.GetProperty("frobenius_norm").GetDouble(), 2), evals.Sum(), 1e-5 * evals.Sum());
    }

    [Fact]
    public void Against_FlipLrVersusSeed0_OneDiffRowPerLayerWithIndependentDeltas()
    {
        string tuned = SharedData.Require("digits_mlp/mlp_ft_fliplr.safetensors");
        string baseline = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        var r = CliRunner.Run("spectrum", tuned, "--against", baseline, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(6, layers.Count);
        Assert.Equal(3, layers.Count(l => l.GetProperty("status").GetString() == "skipped"));
        foreach (var l in layers.Where(l => l.GetProperty("status").GetString() == "ok"))
        {
            string name = l.GetProperty("name").GetString()!;
            double ft = SigmaMax(tuned, name), bs = SigmaMax(baseline, name);
            Assert.Equal(ft * ft - bs * bs, l.GetProperty("delta_lambda_max").GetDouble(), 1e-5 * Math.Max(ft * ft, bs * bs));
            double alphaFt = l.GetProperty("fine_tuned").GetProperty("alpha").GetDouble();
            double alphaBs = l.GetProperty("baseline").GetProperty("alpha").GetDouble();
            Assert.Equal(alphaFt - alphaBs, l.GetProperty("delta_alpha").GetDouble(), 1e-12);
            double overlap = l.GetProperty("subspace_overlap").GetDouble();
            Assert.InRange(overlap, 0, 1 + 1e-9);
        }
        var table = CliRunner.Run("spectrum", tuned, "--against", baseline);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("fc3.weight", table.Stdout);
        Assert.Contains("intruder dimensions", table.Stdout);
    }

    [Fact]
    public void FaceResnet_AutoLayoutUnfolded_SigmaMaxAndStableRankMatchSpectraJson()
    {
        string path = SharedData.Require("safetensors/face_recognition_resnet");
        using var expected = SharedData.Json("safetensors/face_recognition_resnet/spectra.json");
        var r = CliRunner.Run("spectrum", path, "--json", "--conv", "unfold");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.StartsWith("tf (file metadata", doc.RootElement.GetProperty("layout").GetString());
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal(117, layers.Count);
        int compared = 0;
        foreach (var e in expected.RootElement.GetProperty("layers").EnumerateObject())
        {
            var layer = layers[e.Name];
            Assert.Equal("ok", layer.GetProperty("status").GetString());
            var outByIn = e.Value.GetProperty("matrix_shape_out_by_in").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            Assert.Equal(Math.Min(outByIn[0], outByIn[1]), layer.GetProperty("num_evals").GetInt64());
            // Our SVD runs in float32 on the float32 weights; spectra.json is float64. σ_max: relative 1e-5 (≈ 100 ε₃₂).
            // Stable rank = ‖W‖²_F/σ²_max adds the float64 Frobenius norm: relative 1e-4.
            double sigma = e.Value.GetProperty("sigma_max").GetDouble();
            Assert.Equal(sigma, layer.GetProperty("sigma_max").GetDouble(), 1e-5 * sigma);
            double stable = e.Value.GetProperty("stable_rank").GetDouble();
            Assert.Equal(stable, layer.GetProperty("stable_rank").GetDouble(), 1e-4 * stable);
            Assert.Equal(e.Value.GetProperty("frobenius").GetDouble(), layer.GetProperty("frobenius_norm").GetDouble(), 1e-9);
            compared++;
        }
        Assert.Equal(30, compared);
    }

    [Fact]
    public void Csv_RoundTrip_SameNumbersAsJson()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        string csv = Path.Combine(SharedData.TempFolder(), "layers.csv");
        var r = CliRunner.Run("spectrum", path, "--json", "--csv", csv, "--randomize", "--seed", "7");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var json = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        var rows = RfcCsv.Parse(File.ReadAllText(csv));
        Assert.Equal(json.Count + 1, rows.Count);
        var header = rows[0];
        Assert.Equal(WeightSpace.Reports.Spectra.SpectrumCsv.LayerHeaders, header);
        for (int i = 0; i < json.Count; i++)
        {
            var row = rows[i + 1];
            Assert.Equal(header.Count, row.Count);
            for (int c = 0; c < header.Count; c++)
            {
                string column = header[c];
                JsonElement value;
                if (column.StartsWith("rand_", StringComparison.Ordinal))
                {
                    var randomized = json[i].GetProperty("randomized");
                    if (randomized.ValueKind == JsonValueKind.Null) { Assert.Equal("", row[c]); continue; }
                    value = randomized.GetProperty(column == "rand_distance" ? column : column["rand_".Length..]);
                }
                else value = json[i].GetProperty(column);
                switch (value.ValueKind)
                {
                    case JsonValueKind.Null: Assert.Equal("", row[c]); break;
                    case JsonValueKind.Number: Assert.Equal(value.GetDouble(), double.Parse(row[c], CultureInfo.InvariantCulture)); break;
                    case JsonValueKind.String: Assert.Equal(value.GetString(), row[c]); break;
                    case JsonValueKind.Array: Assert.Equal(string.Join('x', value.EnumerateArray().Select(e => e.GetInt64())), row[c]); break;
                    default: Assert.Fail($"unexpected {value.ValueKind} in column {column}"); break;
                }
            }
        }
    }

    [Fact]
    public void Plots_WrittenAsValidSvgAndPng_NoTempFilesLeft()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        string dir = Path.Combine(SharedData.TempFolder(), "plots");
        var r = CliRunner.Run("spectrum", path, "--plots", dir, "--randomize");
        Assert.Equal(0, r.ExitCode);
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        // 3 dense layers × (esd, hist, randomized) × (png, svg) + the model chart × 2.
        Assert.Equal(20, files.Length);
        Assert.Contains("1_fc1.weight.esd.png", files);
        Assert.Contains("5_fc3.weight.randomized.svg", files);
        Assert.Contains("model.alpha-lambda.png", files);
        foreach (string file in Directory.GetFiles(dir))
        {
            var bytes = File.ReadAllBytes(file);
            Assert.True(bytes.Length > 1000, $"{file} has {bytes.Length} bytes");
            if (file.EndsWith(".png", StringComparison.Ordinal))
                Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            else
                Assert.Equal("svg", XDocument.Load(file).Root!.Name.LocalName);
        }
    }

    [Theory]
    [InlineData("--conv", "foo", "--conv")]
    [InlineData("--threads", "0", "--threads")]
    [InlineData("--layout", "nchw", "--layout")]
    [InlineData("--precision", "f16", "--precision")]
    [InlineData("--filter", "(", "--filter")]
    [InlineData("--fit", "mle", "--fit")]
    [InlineData("--compat", "pl", "--compat")]
    [InlineData("--solver", "qr", "--solver")]
    public void BadOptionValue_ExitsTwo_NamingTheOption(string option, string value, string named)
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        var r = CliRunner.Run("spectrum", path, option, value);
        Assert.Equal(WeightSpaceCommandLine.UsageError, r.ExitCode);
        Assert.Contains(named, r.Stderr);
    }

    [Fact]
    public void FitAndCompat_JsonSaysWhichEstimator_CacheRerunGivesTheSameJson()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        string cache = Path.Combine(SharedData.TempFolder(), "cache");
        var ww = CliRunner.Run("spectrum", path, "--json", "--cache", cache);
        Assert.Equal(0, ww.ExitCode);
        using (var doc = System.Text.Json.JsonDocument.Parse(ww.Stdout))
        {
            var fc3 = doc.RootElement.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "fc3.weight");
            Assert.Equal("ww", fc3.GetProperty("alpha_estimator").GetString());
            Assert.Equal("gram", fc3.GetProperty("solver").GetString());
            // The issue's WeightWatcher run found α between 3.5 and 9.7 on these 10-eigenvalue layers; CSN 1.3–1.4.
            Assert.InRange(fc3.GetProperty("alpha").GetDouble(), 3.4, 9.8);
        }
        Assert.Equal(3, Directory.GetFiles(cache, "*.json").Length);
        Assert.Equal(ww.Stdout, CliRunner.Run("spectrum", path, "--json", "--cache", cache).Stdout);

        var csn = CliRunner.Run("spectrum", path, "--json", "--compat", "none");
        using var csnDoc = System.Text.Json.JsonDocument.Parse(csn.Stdout);
        var csnFc3 = csnDoc.RootElement.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "fc3.weight");
        Assert.Equal("csn", csnFc3.GetProperty("alpha_estimator").GetString());
        Assert.InRange(csnFc3.GetProperty("alpha").GetDouble(), 1.2, 1.5);
        Assert.Equal(WeightSpaceCommandLine.UsageError, CliRunner.Run("spectrum", path, "--against", path, "--cache", cache).ExitCode);
    }

    [Fact]
    public void MissingFile_ExitsOne_NamingThePath()
    {
        string missing = Path.Combine(SharedData.TempFolder(), "absent.safetensors");
        var r = CliRunner.Run("spectrum", missing);
        Assert.Equal(WeightSpaceCommandLine.BadInput, r.ExitCode);
        Assert.Contains("absent.safetensors", r.Stderr);
    }

    [Fact]
    public void MissingBaseline_ExitsOne()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");
        var r = CliRunner.Run("spectrum", path, "--against", Path.Combine(SharedData.TempFolder(), "nobase.pt"));
        Assert.Equal(WeightSpaceCommandLine.BadInput, r.ExitCode);
        Assert.Contains("nobase.pt", r.Stderr);
    }

    [Theory]
    [InlineData(new long[] { 3, 3, 16, 32 }, WeightLayout.TensorFlow, "heuristic")]
    [InlineData(new long[] { 32, 16, 3, 3 }, WeightLayout.Torch, "heuristic")]
    [InlineData(new long[] { 3, 3, 3, 3 }, WeightLayout.Torch, "default")]
    [InlineData(new long[] { 64, 32 }, WeightLayout.Torch, "default")]
    public void LayoutDetection_ShapeHeuristic(long[] shape, WeightLayout expected, string reason)
    {
        var store = new InMemoryTensorStore().Add("w", new float[shape.Aggregate(1L, (a, b) => a * b)], shape);
        var (layout, why) = LayoutDetection.Detect(store);
        Assert.Equal(expected, layout);
        Assert.StartsWith(reason, why);
    }

    [Fact]
    public void LayoutDetection_MetadataWinsOverShapes()
    {
        var store = new InMemoryTensorStore().Add("w", new float[32 * 16 * 9], 32, 16, 3, 3).WithMetadata("layout", "tf: [kh,kw,in,out]");
        Assert.Equal(WeightLayout.TensorFlow, LayoutDetection.Detect(store).Layout);
    }

    [Fact]
    public void Parallel_TwoSolvesAtOnce_SameLayersAsOne_AndZeroIsAUsageError()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.safetensors");

        var one = CliRunner.Run("spectrum", path, "--json", "--parallel", "1");
        var two = CliRunner.Run("spectrum", path, "--json", "--parallel", "2");
        var zero = CliRunner.Run("spectrum", path, "--parallel", "0");

        Assert.Equal(0, one.ExitCode);
        Assert.Equal(0, two.ExitCode);
        // Results in file order either way; values equal up to float32 rounding (torch's thread count, process-wide and
        // shared with other tests, sets the GEMM's summation order).
        using var a = JsonDocument.Parse(one.Stdout);
        using var b = JsonDocument.Parse(two.Stdout);
        var la = a.RootElement.GetProperty("layers").EnumerateArray().ToList();
        var lb = b.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(la.Select(l => l.GetProperty("name").GetString()), lb.Select(l => l.GetProperty("name").GetString()));
        for (int i = 0; i < la.Count; i++)
            if (la[i].TryGetProperty("lambda_max", out var x) && x.ValueKind == JsonValueKind.Number)
                Assert.Equal(x.GetDouble(), lb[i].GetProperty("lambda_max").GetDouble(), 1e-5 * x.GetDouble());
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--parallel 0", zero.Stderr);
    }
}
