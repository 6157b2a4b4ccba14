using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Reports.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

/// <summary>The per-tensor cache: an interrupted run resumes to exactly the uninterrupted report; changed files and
/// damaged records are never trusted.</summary>
public sealed class SpectrumCacheTests
{
    private static readonly (string Name, long[] Shape)[] Layers =
    [
        ("a.weight", [48, 20]), ("b.weight", [30, 30]), ("c.bias", [30]), ("d.weight", [20, 64]),
        ("e.weight", [40, 12]), ("conv.weight", [16, 12, 3, 3]), ("f.weight", [25, 25]),
    ];

    [Fact]
    public void InterruptedRun_ResumesToTheUninterruptedReport_ReusingFinishedLayers()
    {
        string dir = SharedData.TempFolder();
        string path = Write(Path.Combine(dir, "m.safetensors"), seed: 1);
        string cache = Path.Combine(dir, "cache");
        using var store = Checkpoint.Open(path);
        string expected = Json(SpectrumAnalyzer.Analyze(store, cancellationToken: Ct));

        using (var cts = new CancellationTokenSource())
        {
            var stopAfterThree = new SyncProgress(p => { if (p.Done == 3) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() =>
                SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache }, stopAfterThree, cts.Token));
        }
        int stored = Directory.GetFiles(cache, "*.json").Length;
        Assert.InRange(stored, 3, Layers.Length - 2);                 // the largest three (all analysed) and no more than were done
        Assert.Empty(Directory.GetFiles(cache, "*.tmp"));

        var resumed = new List<SpectrumProgress>();
        var report = SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache }, new SyncProgress(resumed.Add), cancellationToken: Ct);
        Assert.Equal(expected, Json(report));
        Assert.Equal(stored, resumed.Count(p => p.FromCache));
        Assert.Equal(6, Directory.GetFiles(cache, "*.json").Length);  // every analysed tensor, not the bias

        // A third run reads everything from the cache and still gives the same report.
        var third = new List<SpectrumProgress>();
        Assert.Equal(expected, Json(SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache }, new SyncProgress(third.Add), cancellationToken: Ct)));
        Assert.Equal(6, third.Count(p => p.FromCache));
    }

    [Fact]
    public void ChangedFileOrOptions_MissTheCache_DamagedRecordIsRecomputed()
    {
        string dir = SharedData.TempFolder();
        string cache = Path.Combine(dir, "cache");
        string path = Path.Combine(dir, "m.safetensors");
        Write(path, seed: 1);
        using (var store = Checkpoint.Open(path))
            SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache }, cancellationToken: Ct);

        // Other options: different keys, nothing reused.
        var hits = new List<SpectrumProgress>();
        using (var store = Checkpoint.Open(path))
            SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache, Estimator = PowerLawEstimator.Csn }, new SyncProgress(hits.Add), cancellationToken: Ct);
        Assert.DoesNotContain(hits, p => p.FromCache);

        // New weights under the same name (new size/mtime): nothing reused, and the result is the new file's.
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-5));
        Write(path, seed: 2);
        hits.Clear();
        using (var store = Checkpoint.Open(path))
        {
            string fresh = Json(SpectrumAnalyzer.Analyze(store, cancellationToken: Ct));
            Assert.Equal(fresh, Json(SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache }, new SyncProgress(hits.Add), cancellationToken: Ct)));
            Assert.DoesNotContain(hits, p => p.FromCache);

            // Damage one record: it is ignored and recomputed, the others are reused.
            var records = Directory.GetFiles(cache, "*.json");
            var cacheObj = new SpectrumCache(cache, store, SpectrumOptions.Default);
            string victim = Path.Combine(cache, cacheObj.Key(store.Tensors.First(t => t.Name == "b.weight")) + ".json");
            Assert.Contains(victim, records);
            File.WriteAllText(victim, "{\"format_version\": 1, \"layers\": [");
            hits.Clear();
            Assert.Equal(fresh, Json(SpectrumAnalyzer.Analyze(store, new SpectrumOptions { CacheDirectory = cache }, new SyncProgress(hits.Add), cancellationToken: Ct)));
            Assert.False(hits.Single(p => p.Name == "b.weight").FromCache);
            Assert.Equal(5, hits.Count(p => p.FromCache));
        }
    }

    [Fact]
    public void Records_AreCompleteAndDeterministic()
    {
        string dir = SharedData.TempFolder();
        string path = Write(Path.Combine(dir, "m.safetensors"), seed: 3);
        using var store = Checkpoint.Open(path);
        var options = new SpectrumOptions { CacheDirectory = Path.Combine(dir, "c1") };
        var report = SpectrumAnalyzer.Analyze(store, options, cancellationToken: Ct);
        SpectrumAnalyzer.Analyze(store, options with { CacheDirectory = Path.Combine(dir, "c2"), MaxDegreeOfParallelism = 2 }, cancellationToken: Ct);

        var first = new SpectrumCache(Path.Combine(dir, "c1"), store, options).Records().ToList();
        Assert.Equal(6, first.Count);
        foreach (var record in first)
        {
            Assert.Equal(store.Tensors[record.TensorIndex].Name, record.Tensor);
            Assert.Equal(report.Layers[record.TensorIndex], record.Layers.Single(), LayerComparer.Instance);
            // Same bytes whichever run (and parallelism) wrote it.
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "c1", record.Key + ".json")), File.ReadAllBytes(Path.Combine(dir, "c2", record.Key + ".json")));
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Write(string path, int seed)
    {
        var infos = Layers.Select(l => new TensorInfo(l.Name, DType.F32, new Shape(l.Shape))).ToList();
        using (var writer = SafetensorsWriter.Create(path, infos))
        {
            int k = 0;
            foreach (var (name, shape) in Layers)
            {
                long count = shape.Aggregate(1L, (a, b) => a * b);
                writer.Write(name, SpectraFixtures.Gaussian((int)count, 1, seed * 100 + k++));
            }
            writer.Commit();
        }
        return path;
    }

    private static string Json(SpectrumReport report)
    {
        using var stream = new MemoryStream();
        SpectrumJson.Write(stream, report with { Path = "" }, includeEigenvalues: true);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Reports on the analysing thread (System.Progress posts asynchronously, too late to cancel at an exact count).</summary>
    private sealed class SyncProgress(Action<SpectrumProgress> report) : IProgress<SpectrumProgress>
    {
        public void Report(SpectrumProgress value) => report(value);
    }

    private sealed class LayerComparer : IEqualityComparer<LayerSpectrum>
    {
        public static readonly LayerComparer Instance = new();
        public bool Equals(LayerSpectrum? a, LayerSpectrum? b) => Serialize(a) == Serialize(b);
        public int GetHashCode(LayerSpectrum obj) => 0;
        private static string Serialize(LayerSpectrum? l) => System.Text.Json.JsonSerializer.Serialize(l);
    }
}
