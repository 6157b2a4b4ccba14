using System.Numerics;
using WeightSpace.Formats.Pickle;

namespace WeightSpace.Formats.PyTorch;

/// <summary>Walks an unpickled object tree in pickle order and names every tensor by its path from the root.</summary>
/// <remarks>
/// Naming rule (the one the fixtures' expected.json files use): the keys and indices from the root to the tensor,
/// joined with <c>/</c>. Dict keys are used as written (<c>fc1.weight</c> keeps its dots); int keys and list/tuple
/// indices are decimal numbers; other keys are written as Python would print them. So a state_dict gives
/// <c>fc1.weight</c>, and a checkpoint gives <c>model/fc1.weight</c> and <c>optimizer/state/0/exp_avg</c>. A tensor
/// at the root is named <c>tensor</c>. Attributes set by BUILD (an OrderedDict's <c>_metadata</c>) are not walked.
/// A tensor reached by two paths (tied weights, aliases) is listed under both names. The walk is iterative, with a
/// depth limit and an item budget, and skips a container that contains itself.
/// </remarks>
internal static class ObjectTree
{
    public const string RootTensorName = "tensor";

    private sealed class Frame(object container, string path, List<KeyValuePair<string, object?>> children)
    {
        public object Container { get; } = container;
        public string Path { get; } = path;
        public List<KeyValuePair<string, object?>> Children { get; } = children;
        public int Next { get; set; }
    }

    public static void Walk(string file, object? root, PyTorchOptions options,
        List<KeyValuePair<string, TorchTensor>> tensors, Dictionary<string, string> metadata)
    {
        if (root is TorchTensor rootTensor)
        {
            tensors.Add(new(RootTensorName, rootTensor));
            return;
        }
        if (!IsContainer(root)) return;

        var onPath = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var frames = new Stack<Frame>();
        long budget = options.MaxContainerItems;
        Enter(root!, "");

        while (frames.Count > 0)
        {
            var frame = frames.Peek();
            if (frame.Next == frame.Children.Count)
            {
                onPath.Remove(frame.Container);
                frames.Pop();
                continue;
            }
            var (key, value) = frame.Children[frame.Next++];
            string path = frame.Path.Length == 0 && frames.Count == 1 ? key : frame.Path + "/" + key;
            switch (value)
            {
                case TorchTensor tensor:
                    tensors.Add(new(path, tensor));
                    break;
                case { } container when IsContainer(container):
                    if (!onPath.Contains(container)) Enter(container, path);
                    break;
                default:
                    if (metadata.Count < options.MaxMetadataEntries && ScalarText(value) is { } text)
                        metadata["object/" + path] = text.Length <= 256 ? text : text[..256] + "…";
                    break;
            }
        }

        void Enter(object container, string path)
        {
            if (frames.Count >= options.MaxNestingDepth)
                throw new InvalidCheckpointException(file, null,
                    $"the object tree nests deeper than MaxNestingDepth ({options.MaxNestingDepth}) at '{Clip(path)}'");
            var children = Children(container);
            budget -= children.Count;
            if (budget < 0)
                throw new InvalidCheckpointException(file, null,
                    $"the object tree holds more than MaxContainerItems ({options.MaxContainerItems}) items, counting shared containers each time they are reached");
            onPath.Add(container);
            frames.Push(new Frame(container, path, children));
        }
    }

    private static bool IsContainer(object? value) => value is PyDict or PyList or PyTuple or PySet;

    private static List<KeyValuePair<string, object?>> Children(object container)
    {
        switch (container)
        {
            case PyDict d:
            {
                var list = new List<KeyValuePair<string, object?>>(d.Items.Count);
                foreach (var kv in d.Items) list.Add(new(KeyText(kv.Key), kv.Value));
                return list;
            }
            case PyList l: return Indexed(l.Items);
            case PyTuple t: return Indexed(t.Items);
            case PySet s: return Indexed(s.Items);
            default: return [];
        }
    }

    private static List<KeyValuePair<string, object?>> Indexed(IReadOnlyList<object?> items)
    {
        var list = new List<KeyValuePair<string, object?>>(items.Count);
        for (int i = 0; i < items.Count; i++) list.Add(new(i.ToString(CultureInfo.InvariantCulture), items[i]));
        return list;
    }

    /// <summary>A dict key as a path component: strings verbatim, numbers in decimal, others as Python prints them.</summary>
    private static string KeyText(object? key) => ScalarText(key) ?? key switch
    {
        PyTuple t => "(" + string.Join(", ", t.Items.Select(i => ScalarText(i) ?? "…")) + (t.Items.Length == 1 ? ",)" : ")"),
        TorchTensor => "<tensor>",
        _ => "<" + (key?.GetType().Name ?? "None") + ">",
    };

    private static string? ScalarText(object? value) => value switch
    {
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        BigInteger b => b.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "True" : "False",
        double d => double.IsNaN(d) ? "nan" : double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : d.ToString("R", CultureInfo.InvariantCulture),
        PyNone => "None",
        _ => null,
    };

    private static string Clip(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
