using Microsoft.ML.OnnxRuntime;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Onnx.Export;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>Evaluates an ONNX model's graph with any compatible weight vector through ONNX Runtime (CPU): the weights
/// of a <see cref="TensorStore"/> replace the initializers of the same name at every run, so one session serves a whole
/// interpolation sweep.</summary>
/// <remarks>
/// ONNX Runtime lets a run override an initializer only if the graph also lists it as an input ("overridable
/// initializers"). The evaluator therefore loads the model once with every initializer added to the graph inputs
/// (<see cref="OnnxExporter.WithInitializersAsInputs"/>) and feeds the weights as OrtValues with each batch. A model
/// whose weights live in external data files cannot be rewritten in memory; for it a session is created per weight
/// set with <c>SessionOptions.AddInitializer</c>, which is slower but equivalent.
/// </remarks>
public sealed partial class OnnxRuntimeEvaluator : IModelEvaluator, IDisposable
{
    private readonly string _modelPath;
    private readonly InferenceSession? _shared;
    private readonly Dictionary<string, TensorInfo> _initializers = new(StringComparer.Ordinal);
    private readonly long[] _inputDims;
    private bool _disposed;

    /// <summary>Opens <paramref name="modelPath"/> and creates the session.</summary>
    /// <param name="modelPath">An ONNX classifier: one float input [N, …], first output the logits [N, classes]; or a
    /// token model (int64 input [N, sequence]) for <see cref="Bind"/>.</param>
    /// <param name="batchSize">Samples per run (a fixed batch dimension in the model overrides it); default 1000.</param>
    /// <param name="intraOpThreads">ONNX Runtime threads per run; 0 lets ONNX Runtime choose.</param>
    /// <exception cref="InvalidCheckpointException">The model is malformed, or has no float input or no output.</exception>
    /// <exception cref="FileNotFoundException">The model does not exist.</exception>
    public OnnxRuntimeEvaluator(string modelPath, int batchSize = 1000, int intraOpThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _modelPath = modelPath;
        BatchSize = batchSize;
        IntraOpThreads = intraOpThreads;
        bool external;
        using (var model = OnnxReader.Open(modelPath))
        {
            var top = model.Graph.InitializerNames.ToHashSet(StringComparer.Ordinal);
            foreach (var w in model.Weights)
                if (w.GraphPath == "graph" && w.Kind == OnnxWeightKind.Initializer && top.Contains(w.OnnxName))
                    _initializers.TryAdd(w.OnnxName, w.Info with { Name = w.OnnxName });
            external = model.Weights.Any(w => w.Storage == OnnxStorage.External);
            var input = model.Graph.Inputs.FirstOrDefault(i => !top.Contains(i.Name))
                ?? throw new InvalidCheckpointException(modelPath, null, "the graph has no data input (every input is an initializer)");
            if (input.ElementType is not (FloatElementType or Int64ElementType))
                throw new InvalidCheckpointException(modelPath, null, $"input '{input.Name}' has element type {input.ElementType}; a float (1) or int64 (7) input is needed");
            InputElementType = input.ElementType;
            InputName = input.Name;
            _inputDims = input.Dimensions is null ? [] : [.. input.Dimensions.Select(d => d.Value ?? -1)];
            OutputName = model.Graph.Outputs.FirstOrDefault()?.Name ?? throw new InvalidCheckpointException(modelPath, null, "the graph has no output");
        }
        if (!external)
        {
            byte[] rewritten = OnnxExporter.WithInitializersAsInputs(File.ReadAllBytes(modelPath), modelPath);
            using var options = Options();
            _shared = Create(() => new InferenceSession(rewritten, options));
        }
    }

    /// <summary>Samples per run.</summary>
    public int BatchSize { get; }

    /// <summary>ONNX Runtime intra-op threads (0: its default).</summary>
    public int IntraOpThreads { get; }

    /// <summary>Name of the graph input fed with the dataset.</summary>
    public string InputName { get; }

    /// <summary>Name of the graph output read as logits.</summary>
    public string OutputName { get; }

    /// <summary>True if one session serves every weight set (no external data); false if each evaluation builds one.</summary>
    public bool UsesOverridableInitializers => _shared is not null;

    /// <inheritdoc/>
    /// <exception cref="InvalidCheckpointException">A tensor's shape differs from the model's initializer, a float
    /// initializer of the model is missing from <paramref name="weights"/>, or none matches.</exception>
    /// <exception cref="InvalidDatasetException">A sample does not fit the model input, or a label is not a class of the output.</exception>
    public ModelEvaluation Evaluate(TensorStore weights, Dataset data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        double lossSum = 0;
        long correct = 0;
        Run(weights, data, (start, logits, classes) =>
        {
            for (int r = 0; r < logits.Length / classes; r++)
            {
                int label = data.Labels[start + r];
                if ((uint)label >= (uint)classes)
                    throw new InvalidDatasetException("<dataset>", $"sample {start + r} has label {label} but the model {_modelPath} has {classes} outputs");
                var row = logits.Slice(r * classes, classes);
                // Cross-entropy −log softmax(z)[y] = logsumexp(z) − z_y, in double with the max subtracted.
                double max = double.NegativeInfinity;
                int argmax = 0;
                for (int k = 0; k < classes; k++) if (row[k] > max) { max = row[k]; argmax = k; }
                double sum = 0;
                for (int k = 0; k < classes; k++) sum += Math.Exp(row[k] - max);
                lossSum += max + Math.Log(sum) - row[label];
                if (argmax == label) correct++;
            }
        }, cancellationToken);
        return data.Count == 0 ? new ModelEvaluation(double.NaN, double.NaN, 0) : new ModelEvaluation(lossSum / data.Count, (double)correct / data.Count, data.Count);
    }

    /// <summary>The model's output for every sample, row-major [data.Count, classes].</summary>
    /// <exception cref="InvalidCheckpointException">As <see cref="Evaluate"/>.</exception>
    /// <exception cref="InvalidDatasetException">A sample does not fit the model input.</exception>
    public float[] Logits(TensorStore weights, Dataset data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var result = new List<float>();
        Run(weights, data, (_, logits, _) => result.AddRange(logits), cancellationToken);
        return [.. result];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _shared?.Dispose();
    }

    private delegate void BatchSink(int start, ReadOnlySpan<float> logits, int classes);

    private void Run(TensorStore weights, Dataset data, BatchSink sink, CancellationToken cancellationToken)
    {
        if (InputElementType != FloatElementType)
            throw new InvalidCheckpointException(_modelPath, InputName, $"input has element type {InputElementType}; datasets feed float (1) inputs");
        using var binding = Bind(weights);
        RunBatches(binding.Session, binding.Fed, binding.Values, data, sink, cancellationToken);
    }

    private void RunBatches(InferenceSession session, List<(string Name, long[] Shape, float[] Values)> fed, List<OrtValue> weightValues,
        Dataset data, BatchSink sink, CancellationToken cancellationToken)
    {
        var sampleDims = SampleDims(data);
        int batch = _inputDims.Length > 0 && _inputDims[0] > 0 ? (int)_inputDims[0] : BatchSize;
        var names = new List<string> { InputName };
        if (_shared is not null) names.AddRange(fed.Select(f => f.Name));
        using var runOptions = new RunOptions();
        string[] outputs = [OutputName];
        for (int start = 0; start < data.Count; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(batch, data.Count - start);
            // A model with a fixed batch dimension gets a zero-padded last batch; the padding rows are dropped.
            int rows = _inputDims.Length > 0 && _inputDims[0] > 0 ? batch : n;
            var x = new float[(long)rows * data.FeatureCount];
            data.Features.AsSpan(start * data.FeatureCount, n * data.FeatureCount).CopyTo(x);
            using var input = OrtValue.CreateTensorValueFromMemory(x, [rows, .. sampleDims]);
            var inputs = new List<OrtValue> { input };
            if (_shared is not null) inputs.AddRange(weightValues);
            using var results = RunOnce(session, runOptions, names, inputs, outputs);
            var logits = results[0];
            var shape = logits.GetTensorTypeAndShape().Shape;
            if (shape.Length != 2 || shape[0] != rows)
                throw new InvalidCheckpointException(_modelPath, OutputName, $"output has shape [{string.Join(", ", shape)}]; logits [{rows}, classes] are needed");
            int classes = (int)shape[1];
            sink(start, logits.GetTensorDataAsSpan<float>()[..(n * classes)], classes);
        }
    }

    private IDisposableReadOnlyCollection<OrtValue> RunOnce(InferenceSession session, RunOptions runOptions, List<string> names, List<OrtValue> inputs, string[] outputs)
    {
        try
        {
            return session.Run(runOptions, names, inputs, outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidCheckpointException(_modelPath, null, $"ONNX Runtime failed to run the model: {e.Message}", e);
        }
    }

    private long[] SampleDims(Dataset data)
    {
        long[] sample = data.SampleShape.ToArray();
        if (_inputDims.Length <= 1) return sample;
        var declared = _inputDims[1..];
        if (declared.SequenceEqual(sample)) return sample;
        long known = 1;
        int unknown = 0;
        foreach (long d in declared) { if (d > 0) known *= d; else unknown++; }
        // The declared sample shape wins when it holds exactly the dataset's features ([64] vs [8, 8], [1, 28, 28] vs [28, 28]).
        if (unknown == 0 && known == data.FeatureCount) return declared;
        if (unknown == 1 && known > 0 && data.FeatureCount % known == 0)
            return [.. declared.Select(d => d > 0 ? d : data.FeatureCount / known)];
        throw new InvalidDatasetException("<dataset>", $"samples have shape {data.SampleShape} but {_modelPath} input '{InputName}' takes [{string.Join(", ", _inputDims.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}]");
    }

    private List<(string Name, long[] Shape, float[] Values)> ReadWeights(TensorStore weights)
    {
        var fed = new List<(string, long[], float[])>();
        foreach (var info in weights.Tensors)
        {
            if (!_initializers.TryGetValue(info.Name, out var target) || !info.DType.IsFloatingPoint()) continue;
            if (target.DType != DType.F32)
                throw new InvalidCheckpointException(_modelPath, info.Name, $"initializer is {target.DType}; only F32 initializers can be fed");
            if (target.Shape != info.Shape)
                throw new InvalidCheckpointException(weights.Path, info.Name, $"shape {info.Shape} differs from {target.Shape} in {_modelPath}");
            fed.Add((info.Name, info.Shape.ToArray(), weights.ReadSingle(info.Name)));
        }
        var given = fed.Select(f => f.Item1).ToHashSet(StringComparer.Ordinal);
        var missing = _initializers.Values.Where(i => i.DType.IsFloatingPoint() && i.ElementCount > 1 && !given.Contains(i.Name)).Select(i => i.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidCheckpointException(weights.Path, missing[0], $"{missing.Count} weight(s) of {_modelPath} are not in the checkpoint: {string.Join(", ", missing.Take(5))}");
        return fed;
    }

    private SessionOptions Options()
    {
        var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        if (IntraOpThreads > 0) options.IntraOpNumThreads = IntraOpThreads;
        return options;
    }

    private InferenceSession Create(Func<InferenceSession> factory)
    {
        try
        {
            return factory();
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidCheckpointException(_modelPath, null, $"ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }
}
