using WeightSpace.Formats.Onnx;

namespace WeightSpace.Analysis.Alignment;

public sealed partial class PermutationSpec
{
    /// <summary>Derives the spec of an ONNX model from its graph: which weight axes index the same hidden units, so a
    /// user with an ONNX export writes nothing by hand.</summary>
    /// <remarks>
    /// <para>Walks the top-level graph from its inputs to its outputs, tracking the channel axis of every value as a
    /// "unit space" in a union–find structure. Gemm, MatMul and Conv read their input's space on the weight's input axis
    /// and open a new space on its output axis; a rank-1-broadcast initializer in Add/Sub/Mul/Div (bias, scale) and
    /// every input of BatchNormalization / LayerNormalization (last axis) take the space of the activation they meet;
    /// element-wise activations, pooling, Dropout, Identity and Flatten(axis 1) keep it (after Flatten a C·H·W axis is
    /// permuted in blocks, see the class remarks); an Add of two activations (a residual connection) joins their spaces
    /// into one group.</para>
    /// <para>Spaces that reach a graph input or output, or meet any other operator (Reshape, Concat, Transpose, …), are
    /// not permutable: their axes are null. So the result is conservative — an unknown operator can only remove groups,
    /// never produce a wrong one. Groups are named <c>P_</c> + the module of the weight that opened them
    /// (<c>fc1.weight</c> → <c>P_fc1</c>), which matches <see cref="Mlp"/> and <see cref="Sequential"/>.</para>
    /// </remarks>
    /// <param name="model">An open ONNX model (<see cref="OnnxReader.Open"/>); its tensor names are the spec's names.</param>
    /// <exception cref="InvalidPermutationSpecException">The graph has no weight with a permutable axis.</exception>
    public static PermutationSpec FromOnnx(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var builder = new OnnxSpecBuilder(model);
        builder.Walk();
        return builder.Build();
    }

    /// <summary>True if <paramref name="other"/> permutes exactly the same axes together: the same partition of tensor
    /// axes into groups, whatever the groups are called. A tensor listed with only null axes counts as unlisted.</summary>
    public bool IsEquivalentTo(PermutationSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var mine = Partition(this);
        var theirs = Partition(other);
        return mine.SetEquals(theirs);

        static HashSet<string> Partition(PermutationSpec spec) =>
            spec.Groups.Select(g => string.Join("|", spec.Members(g).Select(m => m.ToString()).Order(StringComparer.Ordinal)))
                .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Walks an ONNX graph tracking, for every value, the unit space of its channel axis (axis 1 of [N, F]
    /// and of [N, C, …]) and the value's rank.</summary>
    private sealed class OnnxSpecBuilder
    {
        private const int Fixed = 0;
        private static readonly HashSet<string> KeepsUnits = new(StringComparer.Ordinal)
        {
            "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Celu", "Gelu", "Softplus", "Softsign",
            "HardSigmoid", "HardSwish", "Mish", "Erf", "Identity", "Dropout", "Clip", "Abs", "Neg", "Sqrt", "Exp",
            "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "Cast",
        };

        private readonly OnnxModel _model;
        private readonly Dictionary<string, TensorInfo> _initializers = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _storeNames = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _alias = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (int Space, int Rank)> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]> _axes = new(StringComparer.Ordinal);
        private readonly List<string> _tensorOrder = [];
        private readonly List<int> _parent = [Fixed];
        private readonly List<string> _origin = [""];

        public OnnxSpecBuilder(OnnxModel model)
        {
            _model = model;
            var top = model.Graph.InitializerNames.ToHashSet(StringComparer.Ordinal);
            foreach (var w in model.Weights)
                if (w.GraphPath == "graph" && (top.Contains(w.OnnxName) || w.Kind == OnnxWeightKind.Constant) && _initializers.TryAdd(w.OnnxName, w.Info))
                    _storeNames[w.OnnxName] = w.Info.Name;
        }

        private string Source => $"onnx spec of {_model.Path}";

        public void Walk()
        {
            foreach (var input in _model.Graph.Inputs)
                if (!_initializers.ContainsKey(input.Name)) _values[input.Name] = (Fixed, input.Dimensions?.Count ?? -1);
            foreach (var node in _model.Graph.Nodes) Visit(node);
            foreach (var output in _model.Graph.Outputs)
                if (_values.TryGetValue(output.Name, out var v)) Union(v.Space, Fixed);
        }

        public PermutationSpec Build()
        {
            var names = new Dictionary<int, string>();
            var used = new HashSet<string>(StringComparer.Ordinal);
            var axes = new List<KeyValuePair<string, IReadOnlyList<string?>>>();
            foreach (string tensor in _tensorOrder)
            {
                var groups = new string?[_axes[tensor].Length];
                for (int axis = 0; axis < groups.Length; axis++)
                {
                    int root = Find(_axes[tensor][axis]);
                    if (root == Fixed) continue;
                    if (!names.TryGetValue(root, out var name))
                    {
                        name = "P_" + _origin[root];
                        for (int k = 2; !used.Add(name); k++) name = $"P_{_origin[root]}#{k}";
                        names[root] = name;
                    }
                    groups[axis] = name;
                }
                axes.Add(new(_storeNames[tensor], groups));
            }
            if (names.Count == 0)
                throw new InvalidPermutationSpecException(Source, "no weight axis is permutable (no Gemm/MatMul/Conv output reaches another weighted layer through supported operators)");
            return new PermutationSpec(axes, Source);
        }

        private void Visit(OnnxNode node)
        {
            var inputs = node.Inputs;
            switch (node.OpType)
            {
                // Gemm inputs are rank 2 by definition, so an unknown rank (after an opaque operator) is fine.
                case "Gemm" when inputs.Count >= 2 && IsWeight(inputs[1], 2) && Activation(inputs[0]) is { Rank: 2 or -1 } x && Int(node, "transA", 0) == 0:
                {
                    int output = NewSpace(inputs[1]);
                    bool transB = Int(node, "transB", 0) != 0;
                    Bind(inputs[1], transB ? [output, x.Space] : [x.Space, output]);
                    if (inputs.Count >= 3 && inputs[2].Length > 0 && !BindBias(inputs[2], output)) { Opaque(node); break; }
                    SetOutput(node, output, 2);
                    break;
                }
                case "MatMul" when inputs.Count == 2 && IsWeight(inputs[1], 2) && Activation(inputs[0]) is { Rank: 2 } x:
                {
                    int output = NewSpace(inputs[1]);
                    Bind(inputs[1], [x.Space, output]);
                    SetOutput(node, output, 2);
                    break;
                }
                case "Conv" when inputs.Count >= 2 && Weight(inputs[1]) is { Shape.Rank: >= 3 } w && Activation(inputs[0]) is { } x
                                 && (x.Rank == w.Shape.Rank || x.Rank < 0):
                {
                    long group = Int(node, "group", 1);
                    var rest = Enumerable.Repeat(Fixed, w.Shape.Rank - 2);
                    int output;
                    if (group == 1)
                    {
                        output = NewSpace(inputs[1]);
                        Bind(inputs[1], [output, x.Space, .. rest]);
                    }
                    else if (w.Shape[1] == 1 && w.Shape[0] == group)
                    {
                        // Depthwise: output channel c reads only input channel c, so both sides are one space.
                        output = x.Space;
                        Bind(inputs[1], [output, Fixed, .. rest]);
                    }
                    else { Opaque(node); break; }
                    if (inputs.Count >= 3 && inputs[2].Length > 0 && !BindBias(inputs[2], output)) { Opaque(node); break; }
                    SetOutput(node, output, w.Shape.Rank);
                    break;
                }
                case "BatchNormalization" when Activation(inputs[0]) is { } x && inputs.Skip(1).All(i => IsWeight(i, 1)):
                    foreach (string p in inputs.Skip(1)) Bind(p, [x.Space]);
                    SetOutput(node, x.Space, x.Rank, firstOnly: true);
                    break;
                case "LayerNormalization" when Activation(inputs[0]) is { Rank: 2 } x && Int(node, "axis", -1) is -1 or 1
                                               && inputs.Skip(1).All(i => i.Length == 0 || IsWeight(i, 1)):
                    foreach (string p in inputs.Skip(1).Where(i => i.Length > 0)) Bind(p, [x.Space]);
                    SetOutput(node, x.Space, 2, firstOnly: true);
                    break;
                case "Add" or "Sub" or "Mul" or "Div" when inputs.Count == 2:
                    Elementwise(node);
                    break;
                case "Flatten" when Activation(inputs[0]) is { } x && Int(node, "axis", 1) == 1:
                    // [N, C, H, W] → [N, C·H·W]: channel c owns a contiguous block of H·W features, a block permutation.
                    SetOutput(node, x.Space, 2);
                    break;
                case "Softmax" or "LogSoftmax" when Activation(inputs[0]) is { Rank: 2 } x && Int(node, "axis", -1) is -1 or 1:
                    SetOutput(node, x.Space, 2);
                    break;
                case var op when KeepsUnits.Contains(op) && inputs.Count >= 1 && Activation(inputs[0]) is { } x
                                 && inputs.Skip(1).All(i => i.Length == 0 || Weight(i) is { Shape.ElementCount: 1 }):
                    SetOutput(node, x.Space, x.Rank, firstOnly: true);
                    break;
                case "Identity" when inputs.Count == 1 && Weight(inputs[0]) is not null:
                    _alias[node.Outputs[0]] = Resolve(inputs[0]);
                    break;
                default:
                    Opaque(node);
                    break;
            }
        }

        private void Elementwise(OnnxNode node)
        {
            var a = Activation(node.Inputs[0]);
            var b = Activation(node.Inputs[1]);
            if (a is { } x && b is { } y)
            {
                // A residual connection: both operands index the same units, so their spaces become one group.
                if (x.Rank != y.Rank || node.OpType is not ("Add" or "Sub")) { Opaque(node); return; }
                SetOutput(node, Union(x.Space, y.Space), x.Rank);
                return;
            }
            var act = a ?? b;
            string other = a is null ? node.Inputs[0] : node.Inputs[1];
            if (act is not { } v || Weight(other) is null || !BindBroadcast(other, v)) { Opaque(node); return; }
            SetOutput(node, v.Space, v.Rank);
        }

        private bool BindBias(string name, int space)
        {
            if (Weight(name) is not { Shape.Rank: 1 }) return false;
            Bind(name, [space]);
            return true;
        }

        // Broadcasting aligns trailing axes: the initializer axis meeting the channel axis (1) of a rank-r value is
        // 1 − r + rank(w); every other initializer axis must have length 1, or units would mix.
        private bool BindBroadcast(string name, (int Space, int Rank) value)
        {
            var w = Weight(name)!;
            if (w.Shape.ElementCount == 1)
            {
                Bind(name, new int[w.Shape.Rank]);
                return true;
            }
            if (value.Rank < 2) return false;
            int axis = 1 - value.Rank + w.Shape.Rank;
            if (axis < 0 || axis >= w.Shape.Rank || w.Shape.ElementCount != w.Shape[axis]) return false;
            var groups = new int[w.Shape.Rank];
            groups[axis] = value.Space;
            Bind(name, groups);
            return true;
        }

        private void Opaque(OnnxNode node)
        {
            foreach (string input in node.Inputs)
                if (Activation(input) is { } x) Union(x.Space, Fixed);
            foreach (string output in node.Outputs) _values[output] = (Fixed, -1);
        }

        private void SetOutput(OnnxNode node, int space, int rank, bool firstOnly = false)
        {
            for (int i = 0; i < node.Outputs.Count; i++)
                if (node.Outputs[i].Length > 0) _values[node.Outputs[i]] = i == 0 || !firstOnly ? (space, rank) : (Fixed, -1);
        }

        private (int Space, int Rank)? Activation(string name) =>
            name.Length > 0 && Weight(name) is null && _values.TryGetValue(name, out var v) ? v : null;

        private string Resolve(string name) => _alias.TryGetValue(name, out var real) ? real : name;

        private TensorInfo? Weight(string name) => name.Length > 0 && _initializers.TryGetValue(Resolve(name), out var info) ? info : null;

        private bool IsWeight(string name, int rank) => Weight(name) is { } w && w.Shape.Rank == rank;

        private int NewSpace(string weight)
        {
            string name = _storeNames[Resolve(weight)];
            _parent.Add(_parent.Count);
            _origin.Add(name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : name);
            return _parent.Count - 1;
        }

        private void Bind(string weight, int[] spaces)
        {
            string name = Resolve(weight);
            if (_axes.TryGetValue(name, out var existing))
            {
                // A tied weight used twice: its axes must satisfy both uses.
                for (int i = 0; i < spaces.Length; i++) Union(existing[i], spaces[i]);
                return;
            }
            _axes[name] = spaces;
            _tensorOrder.Add(name);
        }

        private int Find(int x)
        {
            while (_parent[x] != x)
            {
                _parent[x] = _parent[_parent[x]];
                x = _parent[x];
            }
            return x;
        }

        // The smaller root wins, so Fixed (0) absorbs and a group keeps the name of the earliest weight that opened it.
        private int Union(int a, int b)
        {
            int ra = Find(a), rb = Find(b);
            if (ra == rb) return ra;
            if (rb < ra) (ra, rb) = (rb, ra);
            _parent[rb] = ra;
            return ra;
        }

        private static long Int(OnnxNode node, string name, long fallback) =>
            node.Attributes.FirstOrDefault(a => a.Name == name) is { Ints.Count: > 0 } a ? a.Ints[0] : fallback;
    }
}
