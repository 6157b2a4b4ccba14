using Microsoft.ML.OnnxRuntime;

namespace WeightSpace.Analysis.Evaluation;

// Token models (causal language models exported with an int64 input_ids [batch, sequence] input): one weight set is
// bound to a session once and then run batch after batch.
public sealed partial class OnnxRuntimeEvaluator
{
    private const int FloatElementType = 1;
    private const int Int64ElementType = 7;

    /// <summary>ONNX element type of the data input: 1 (float) for classifiers, 7 (int64) for token models.</summary>
    public int InputElementType { get; }

    /// <summary>Binds <paramref name="weights"/> to a session for repeated runs: the checkpoint's tensors replace the
    /// initializers of the same name (as overridable initializers, or per session when the model keeps its weights in
    /// external data). Dispose the binding before the evaluator.</summary>
    /// <exception cref="InvalidCheckpointException">A tensor's shape differs from the model's initializer, or a float
    /// initializer of the model is missing from <paramref name="weights"/>.</exception>
    public WeightBinding Bind(TensorStore weights)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(weights);
        return new WeightBinding(this, weights);
    }

    /// <summary>A weight set bound to an ONNX Runtime session (see <see cref="Bind"/>).</summary>
    public sealed class WeightBinding : IDisposable
    {
        private readonly OnnxRuntimeEvaluator _owner;
        private readonly SessionOptions? _perRun;
        private readonly RunOptions _runOptions = new();
        private bool _disposed;

        internal WeightBinding(OnnxRuntimeEvaluator owner, TensorStore weights)
        {
            _owner = owner;
            Fed = owner.ReadWeights(weights);
            Values = [];
            try
            {
                foreach (var (_, shape, array) in Fed) Values.Add(OrtValue.CreateTensorValueFromMemory(array, shape));
                if (owner._shared is not null) Session = owner._shared;
                else
                {
                    _perRun = owner.Options();
                    // Constant folding runs before AddInitializer's values are placed, so it would bake the file's
                    // weights into folded nodes (e.g. Transpose(W)) and the override would silently not apply.
                    _perRun.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                    for (int i = 0; i < Fed.Count; i++) _perRun.AddInitializer(Fed[i].Name, Values[i]);
                    var options = _perRun;
                    Session = owner.Create(() => new InferenceSession(owner._modelPath, options));
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        internal InferenceSession Session { get; } = null!;
        internal List<(string Name, long[] Shape, float[] Values)> Fed { get; }
        internal List<OrtValue> Values { get; }

        /// <summary>Runs the token model on <paramref name="rows"/> sequences of <paramref name="tokenIds"/> (row-major
        /// [rows, length]) and returns the first output, row-major [rows, length, vocabulary].</summary>
        /// <param name="tokenIds">The ids.</param>
        /// <param name="rows">Number of sequences.</param>
        /// <param name="vocabulary">The last dimension of the output.</param>
        /// <exception cref="InvalidCheckpointException">The model is not a token model, fails to run, or its output is not [rows, length, vocabulary].</exception>
        public float[] RunTokens(ReadOnlySpan<int> tokenIds, int rows, out int vocabulary)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
            if (tokenIds.Length == 0 || tokenIds.Length % rows != 0) throw new ArgumentException($"{tokenIds.Length} ids do not form {rows} rows", nameof(tokenIds));
            if (_owner.InputElementType != Int64ElementType)
                throw new InvalidCheckpointException(_owner._modelPath, _owner.InputName, $"input has element type {_owner.InputElementType}; a token model takes int64 (7)");
            int length = tokenIds.Length / rows;
            var ids = new long[tokenIds.Length];
            for (int i = 0; i < ids.Length; i++) ids[i] = tokenIds[i];
            using var input = OrtValue.CreateTensorValueFromMemory(ids, [rows, length]);
            var names = new List<string> { _owner.InputName };
            var inputs = new List<OrtValue> { input };
            if (_owner._shared is not null)
            {
                names.AddRange(Fed.Select(f => f.Name));
                inputs.AddRange(Values);
            }
            using var results = _owner.RunOnce(Session, _runOptions, names, inputs, [_owner.OutputName]);
            var shape = results[0].GetTensorTypeAndShape().Shape;
            if (shape.Length != 3 || shape[0] != rows || shape[1] != length)
                throw new InvalidCheckpointException(_owner._modelPath, _owner.OutputName, $"output has shape [{string.Join(", ", shape)}]; logits [{rows}, {length}, vocabulary] are needed");
            vocabulary = checked((int)shape[2]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        /// <summary>Releases the per-binding session (if any) and the weight values.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_perRun is not null)
            {
                if (!ReferenceEquals(Session, _owner._shared)) Session?.Dispose();
                _perRun.Dispose();
            }
            _runOptions.Dispose();
            foreach (var v in Values) v.Dispose();
        }
    }
}
