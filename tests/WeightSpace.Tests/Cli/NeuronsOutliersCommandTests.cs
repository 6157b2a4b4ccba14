using System.Text.Json;
using WeightSpace.Analysis.Neurons;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Tests.Analysis.Language;

namespace WeightSpace.Tests.Cli;

/// <summary><c>weightspace neurons</c> and <c>weightspace outliers</c>: results on the tiny Llama family checked against
/// an independent float64 computation, and one-line errors with exit code 1 for hostile input.</summary>
public sealed class NeuronsOutliersCommandTests
{
    [Fact]
    public void Neurons_TinyLlama_TopTokensMatchAFloat64Recomputation()
    {
        string folder = TinyLlama.Folder("ft-python");
        var r = CliRunner.Run("neurons", folder, "--layer", "1", "--top", "3", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var neurons = doc.RootElement.GetProperty("layers")[0].GetProperty("neurons");
        Assert.Equal(768, neurons.GetArrayLength());

        using var store = Checkpoint.Open(folder);
        float[] head = store.ReadSingle("lm_head.weight"), gamma = store.ReadSingle("model.norm.weight"), down = store.ReadSingle("model.layers.1.mlp.down_proj.weight");
        for (int j = 0; j < 768; j += 37)
        {
            var logits = new double[256];
            for (int t = 0; t < 256; t++)
                for (int h = 0; h < 256; h++) logits[t] += (double)head[t * 256 + h] * gamma[h] * down[h * 768 + j];
            int best = Array.IndexOf(logits, logits.Max());
            var neuron = neurons[j];
            Assert.Equal(best, neuron.GetProperty("token_ids")[0].GetInt32());
            Assert.Equal(logits[best], neuron.GetProperty("logits")[0].GetDouble(), 1e-4);
            // Token id = byte value; the printed token is that byte, escaped.
            Assert.Equal(TokenVocabulary.Escape([(byte)best]), neuron.GetProperty("tokens")[0].GetString());
        }
    }

    [Fact]
    public void Neurons_AgainstBase_ShareIsTheCountOfUnchangedTop1()
    {
        var r = CliRunner.Run("neurons", TinyLlama.Folder("ft-python"), "--against", TinyLlama.Folder("base"), "--top", "5", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        int same = 0, total = 0;
        foreach (var layer in doc.RootElement.GetProperty("layers").EnumerateArray())
            foreach (var n in layer.GetProperty("neurons").EnumerateArray())
            {
                total++;
                bool top1 = n.GetProperty("token_ids")[0].GetInt32() == n.GetProperty("baseline_token_ids")[0].GetInt32();
                Assert.Equal(top1, n.GetProperty("top1_same").GetBoolean());
                if (top1) same++;
            }
        Assert.Equal(4 * 768, total);
        double share = doc.RootElement.GetProperty("share_top1_unchanged").GetDouble();
        Assert.Equal((double)same / total, share, 12);
        Assert.InRange(share, 0.3, 0.99);   // a fine-tune moves some neurons, not all
        var most = doc.RootElement.GetProperty("most_changed");
        Assert.Equal(20, most.GetArrayLength());
        Assert.True(most[0].GetProperty("top_k_overlap").GetDouble() <= most[19].GetProperty("top_k_overlap").GetDouble());
    }

    [Fact]
    public void Neurons_AgainstItself_ShareIsOne()
    {
        string folder = TinyLlama.Folder("base");
        var r = CliRunner.Run("neurons", folder, "--against", folder, "--top", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(1.0, doc.RootElement.GetProperty("share_top1_unchanged").GetDouble());
    }

    [Fact]
    public void Neurons_LayerOutOfRange_IsOneLineExit1()
    {
        var r = CliRunner.Run("neurons", TinyLlama.Folder("base"), "--layer", "9");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: ", r.Stderr[..7]);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("layer 9 is out of range", r.Stderr);
    }

    [Fact]
    public void Neurons_NoHeadNoEmbeddings_IsOneLineExit1()
    {
        string dir = SharedData.TempFolder();
        string path = Path.Combine(dir, "headless.safetensors");
        SafetensorsWriter.Copy(new InMemoryTensorStore().Add("model.layers.0.mlp.down_proj.weight", new float[8], 2, 4), path);
        var r = CliRunner.Run("neurons", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("headless.safetensors", r.Stderr);
        Assert.Contains("lm_head", r.Stderr);
    }

    [Fact]
    public void Neurons_BaselineShapeMismatch_IsOneLineExit1()
    {
        string dir = SharedData.TempFolder();
        string a = Path.Combine(dir, "a.safetensors"), b = Path.Combine(dir, "b.safetensors");
        SafetensorsWriter.Copy(new InMemoryTensorStore().Add("lm_head.weight", new float[12], 3, 4).Add("model.layers.0.mlp.down_proj.weight", new float[8], 4, 2), a);
        SafetensorsWriter.Copy(new InMemoryTensorStore().Add("lm_head.weight", new float[12], 3, 4).Add("model.layers.0.mlp.down_proj.weight", new float[12], 4, 3), b);
        var r = CliRunner.Run("neurons", a, "--against", b);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("model.layers.0.mlp.down_proj.weight", r.Stderr);
        Assert.Contains("differs", r.Stderr);
    }

    [Fact]
    public void Outliers_PlantedWeight_IsReportedAtItsCoordinates_InJsonAndCsv()
    {
        string dir = SharedData.TempFolder();
        string path = Path.Combine(dir, "planted.safetensors"), csv = Path.Combine(dir, "o.csv");
        var w = new float[32 * 48];
        var random = new Random(3);
        for (int i = 0; i < w.Length; i++) w[i] = (float)(random.NextDouble() - 0.5) * 0.02f;
        w[29 * 48 + 7] = 0.75f;
        SafetensorsWriter.Copy(new InMemoryTensorStore().Add("model.layers.1.mlp.down_proj.weight", w, 32, 48), path);
        var r = CliRunner.Run("outliers", path, "--top", "2", "--json", "--csv", csv);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var top = doc.RootElement.GetProperty("top")[0];
        Assert.Equal((29, 7), (top.GetProperty("row").GetInt32(), top.GetProperty("column").GetInt32()));
        Assert.Equal(0.75, top.GetProperty("value").GetDouble());
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("model.layers.1.mlp.down_proj.weight,1,Down,1,29,7,0.75,", lines[1]);
    }

    [Fact]
    public void Outliers_TextWithoutModelFolder_IsOneLineExit1()
    {
        string dir = SharedData.TempFolder();
        string path = Path.Combine(dir, "lone.safetensors"), text = Path.Combine(dir, "t.txt");
        File.WriteAllText(text, "hello world");
        SafetensorsWriter.Copy(new InMemoryTensorStore().Add("w.weight", new float[4], 2, 2), path);
        var r = CliRunner.Run("outliers", path, "--text", text);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("config.json", r.Stderr);
    }
}
