using Microsoft.ML.OnnxRuntime;
using WeightSpace.Formats.Onnx;

namespace WeightSpace.Benchmarks;

/// <summary>An ONNX Runtime session of a model's graph whose float32 initializers are replaced by tensors of another
/// store (e.g. a merge of that model with another), through <c>SessionOptions.AddInitializer</c>, run once on a probe
/// input: the merge benchmark's check that merged weights of graphs without a classification dataset (Silero VAD,
/// openWakeWord) still run. Dataset evaluation lives in the library (<c>OnnxRuntimeEvaluator</c>).</summary>
/// <remarks>Constant-node values cannot be overridden this way and keep the graph's own values; tensors of the store
/// that are not initializers of the graph are ignored. The OrtValues must outlive the session, so the session owns them.</remarks>
internal sealed class OnnxProbeSession : IDisposable
{
    private readonly List<OrtValue> _values = [];
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;

    /// <summary>Opens <paramref name="modelPath"/>, feeding every float32 initializer found in <paramref name="weights"/> (by the
    /// names the WeightSpace ONNX reader gives) in place of the graph's own.</summary>
    /// <param name="modelPath">The <c>.onnx</c> file whose graph runs.</param>
    /// <param name="weights">Replacement weights; null runs the model as stored.</param>
    /// <exception cref="InvalidCheckpointException">A replacement has a different shape than the initializer it replaces.</exception>
    public OnnxProbeSession(string modelPath, TensorStore? weights)
    {
        _options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        try
        {
            if (weights is not null)
            {
                using var graph = OnnxReader.Open(modelPath);
                foreach (var w in graph.Weights.Where(w => w.Kind == OnnxWeightKind.Initializer && w.Info.DType == DType.F32))
                {
                    if (!weights.TryGetInfo(w.Info.Name, out var info)) continue;
                    if (info.Shape != w.Info.Shape)
                        throw new InvalidCheckpointException(weights.Path, info.Name, $"shape {info.Shape} does not replace {w.Info.Shape} of {modelPath}");
                    var value = OrtValue.CreateTensorValueFromMemory(weights.ReadSingle(info.Name), info.Shape.ToArray());
                    _values.Add(value);
                    _options.AddInitializer(w.OnnxName, value);
                    Replaced++;
                }
            }
            _session = new InferenceSession(modelPath, _options);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>How many initializers were replaced.</summary>
    public int Replaced { get; }

    /// <summary>Runs the graph on deterministic inputs: float inputs filled with a fixed pseudo-random sequence in [−1, 1)
    /// from <paramref name="seed"/>, 64-bit integer inputs named <c>sr</c> set to 16000 (others 0); dynamic dimensions are 1
    /// unless <paramref name="shapes"/> gives the input's shape.</summary>
    /// <param name="seed">Seed of the input values.</param>
    /// <param name="shapes">Shapes of inputs with dynamic dimensions (e.g. Silero VAD's <c>input</c>: [1, 512]).</param>
    /// <returns>The first output, flattened.</returns>
    public float[] RunOnProbe(int seed, IReadOnlyDictionary<string, long[]>? shapes = null)
    {
        var rng = new Random(seed);
        var inputs = new List<OrtValue>();
        try
        {
            foreach (var (name, meta) in _session.InputMetadata)
            {
                long[] shape = shapes is not null && shapes.TryGetValue(name, out var given) ? given : meta.Dimensions.Select(d => d < 0 ? 1L : d).ToArray();
                long count = shape.Aggregate(1L, (a, b) => a * b);
                if (meta.ElementType == typeof(long))
                    inputs.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(name == "sr" ? 16000L : 0L, (int)count).ToArray(), shape));
                else
                    inputs.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, (int)count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), shape));
            }
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, _session.InputNames, inputs, [_session.OutputNames[0]]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    /// <summary>Closes the session and frees the replacement values.</summary>
    public void Dispose()
    {
        _session?.Dispose();
        _options.Dispose();
        foreach (var v in _values) v.Dispose();
        _values.Clear();
    }
}
