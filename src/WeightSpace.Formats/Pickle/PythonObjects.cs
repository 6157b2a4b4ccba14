using System.Numerics;

namespace WeightSpace.Formats.Pickle;

// The restricted unpickler builds only these inert values: no Python object is ever imported or called. Scalars are
// plain .NET values (long, BigInteger for ints beyond 64 bits, double, bool, string, byte[]); PyNone stands for None.

/// <summary>Python's <c>None</c>.</summary>
internal sealed class PyNone
{
    public static readonly PyNone Value = new();
    private PyNone() { }
    public override string ToString() => "None";
}

/// <summary>A global reference (<c>module.name</c>) that passed the allow-list; it is a name, never a resolved object.</summary>
internal sealed record PyGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;
}

/// <summary>An immutable Python tuple.</summary>
internal sealed class PyTuple(object?[] items)
{
    public static readonly PyTuple Empty = new([]);
    public object?[] Items { get; } = items;
}

/// <summary>A Python list (also the target of APPEND/APPENDS).</summary>
internal sealed class PyList
{
    public List<object?> Items { get; } = [];
}

/// <summary>A Python set or frozenset, kept in insertion order.</summary>
internal sealed class PySet(bool frozen)
{
    public bool Frozen { get; } = frozen;
    public List<object?> Items { get; } = [];
}

/// <summary>A Python dict or <c>collections.OrderedDict</c>, in insertion order. Attributes set by BUILD (an
/// OrderedDict state_dict's <c>_metadata</c>) are kept apart from the items: they are not part of the tensor tree.</summary>
internal sealed class PyDict(bool ordered)
{
    private readonly Dictionary<object, int> _indexOfScalarKey = new(ScalarKeyComparer.Instance);

    public bool Ordered { get; } = ordered;
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
    public PyDict? Attributes { get; set; }

    /// <summary>Sets <paramref name="key"/>; a scalar key seen before keeps its place and takes the new value, as in Python.</summary>
    public void Set(object? key, object? value)
    {
        if (key is not null && ScalarKeyComparer.IsScalar(key))
        {
            if (_indexOfScalarKey.TryGetValue(key, out int index))
            {
                Items[index] = new(key, value);
                return;
            }
            _indexOfScalarKey[key] = Items.Count;
        }
        Items.Add(new(key, value));
    }

    public object? Get(string key)
    {
        return _indexOfScalarKey.TryGetValue(key, out int index) ? Items[index].Value : null;
    }

    private sealed class ScalarKeyComparer : IEqualityComparer<object>
    {
        public static readonly ScalarKeyComparer Instance = new();
        public static bool IsScalar(object o) => o is string or long or BigInteger or bool or double or PyNone;
        public new bool Equals(object? x, object? y) => x switch
        {
            string s => y is string t && string.Equals(s, t, StringComparison.Ordinal),
            _ => Object.Equals(x, y),
        };
        public int GetHashCode(object o) => o is string s ? StringComparer.Ordinal.GetHashCode(s) : o.GetHashCode();
    }
}

/// <summary>A storage named by a persistent id: where its bytes are and how many elements of <see cref="DType"/> it holds.</summary>
internal sealed class TorchStorage(string key, DType dtype, long elementCount)
{
    public string Key { get; } = key;
    public DType DType { get; } = dtype;
    public long ElementCount { get; } = elementCount;
    /// <summary>File offset of element 0; set by the container once known (legacy files learn it after the main pickle).</summary>
    public long DataOffset { get; set; } = -1;
    /// <summary>For a legacy storage view: the storage it is cut from and its first element there.</summary>
    public TorchStorage? ViewOf { get; init; }
    public long ViewElementOffset { get; init; }
}

/// <summary>What <c>torch._utils._rebuild_tensor_v2</c> would have built: a strided view of a storage (not yet checked).</summary>
internal sealed class TorchTensor(TorchStorage storage, long storageOffset, long[] shape, long[] strides, long pickleOffset)
{
    public TorchStorage Storage { get; } = storage;
    public long StorageOffset { get; } = storageOffset;
    public long[] Shape { get; } = shape;
    public long[] Strides { get; } = strides;
    /// <summary>File offset of the REDUCE that built it, for messages.</summary>
    public long PickleOffset { get; } = pickleOffset;
    public bool IsParameter { get; set; }
}
