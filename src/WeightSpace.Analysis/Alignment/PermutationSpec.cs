using System.Collections.Frozen;
using System.Collections.Immutable;

namespace WeightSpace.Analysis.Alignment;

/// <summary>Which axes of which tensors share a permutation: the hidden units of a network can be reordered without
/// changing its function as long as every axis indexing the same units is permuted the same way.</summary>
/// <remarks>
/// Maps each tensor name to one entry per axis: the name of the permutation group acting on that axis, or null.
/// Tensors not listed are never permuted. A group's size is the shortest axis it acts on; a longer axis must be a
/// whole multiple of it and is permuted in contiguous blocks (a Linear layer reading a flattened C×H×W feature map
/// permutes blocks of H·W inputs per channel). The structure follows <c>axes_to_perm</c> of Git Re-Basin
/// (<see href="https://arxiv.org/abs/2209.04836">Ainsworth, Hayase and Srinivasa, ICLR 2023</see>).
/// </remarks>
public sealed partial class PermutationSpec
{
    private readonly FrozenDictionary<string, ImmutableArray<string?>> _axes;
    private readonly FrozenDictionary<string, ImmutableArray<PermutationAxis>> _members;

    /// <summary>Creates a spec from a map of tensor name to per-axis group names (null for an unpermuted axis).</summary>
    /// <param name="axes">The map; tensor order is kept for <see cref="Tensors"/>.</param>
    /// <param name="source">Names the spec in error messages (a file path or builder name).</param>
    /// <exception cref="InvalidPermutationSpecException">A group name is empty, or a tensor lists one group twice.</exception>
    public PermutationSpec(IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> axes, string source = "<spec>")
    {
        ArgumentNullException.ThrowIfNull(axes);
        Source = source;
        var tensors = new List<string>();
        var map = new Dictionary<string, ImmutableArray<string?>>(StringComparer.Ordinal);
        var members = new Dictionary<string, List<PermutationAxis>>(StringComparer.Ordinal);
        var groupOrder = new List<string>();
        foreach (var (tensor, groups) in axes)
        {
            if (string.IsNullOrEmpty(tensor)) throw new InvalidPermutationSpecException(source, "a tensor name is empty");
            if (!map.TryAdd(tensor, [.. groups])) throw new InvalidPermutationSpecException(source, $"tensor '{tensor}' is listed twice");
            tensors.Add(tensor);
            for (int axis = 0; axis < groups.Count; axis++)
            {
                string? g = groups[axis];
                if (g is null) continue;
                if (g.Length == 0) throw new InvalidPermutationSpecException(source, $"tensor '{tensor}' axis {axis}: empty group name");
                for (int other = 0; other < axis; other++)
                    if (groups[other] == g) throw new InvalidPermutationSpecException(source, $"tensor '{tensor}' has group '{g}' on axes {other} and {axis}");
                if (!members.TryGetValue(g, out var list))
                {
                    members[g] = list = [];
                    groupOrder.Add(g);
                }
                list.Add(new PermutationAxis(tensor, axis));
            }
        }
        _axes = map.ToFrozenDictionary(StringComparer.Ordinal);
        _members = members.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToImmutableArray(), StringComparer.Ordinal);
        Tensors = [.. tensors];
        Groups = [.. groupOrder];
    }

    /// <summary>Where the spec came from (file path or builder), for messages.</summary>
    public string Source { get; }

    /// <summary>Tensor names the spec lists, in the order given.</summary>
    public ImmutableArray<string> Tensors { get; }

    /// <summary>Permutation group names, in order of first appearance.</summary>
    public ImmutableArray<string> Groups { get; }

    /// <summary>The group of each axis of <paramref name="tensor"/> (null entries are not permuted); empty if the tensor is not listed.</summary>
    public ImmutableArray<string?> AxesOf(string tensor) => _axes.TryGetValue(tensor, out var a) ? a : [];

    /// <summary>Every tensor axis that <paramref name="group"/> permutes.</summary>
    /// <exception cref="KeyNotFoundException">No such group.</exception>
    public ImmutableArray<PermutationAxis> Members(string group) =>
        _members.TryGetValue(group, out var m) ? m : throw new KeyNotFoundException($"{Source}: no permutation group '{group}'.");

    /// <summary>Checks the spec against <paramref name="store"/> and returns the size of every group.</summary>
    /// <exception cref="InvalidPermutationSpecException">A listed tensor is missing or not floating point, its rank
    /// differs from the spec, or an axis length is not a multiple of its group's size.</exception>
    public IReadOnlyDictionary<string, int> ResolveSizes(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (string tensor in Tensors)
        {
            if (!store.TryGetInfo(tensor, out var info))
                throw new InvalidPermutationSpecException(Source, $"tensor '{tensor}' is not in {store.Path}");
            if (!info.DType.IsFloatingPoint())
                throw new InvalidPermutationSpecException(Source, $"tensor '{tensor}' in {store.Path} is {info.DType}, not floating point");
            if (info.Shape.Rank != _axes[tensor].Length)
                throw new InvalidPermutationSpecException(Source, $"tensor '{tensor}' has {_axes[tensor].Length} axes in the spec but shape {info.Shape} in {store.Path}");
        }
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string group in Groups)
        {
            long size = Members(group).Min(m => store.GetInfo(m.Tensor).Shape[m.Axis]);
            if (size <= 0 || size > Array.MaxLength)
                throw new InvalidPermutationSpecException(Source, $"group '{group}' has size {size}");
            foreach (var m in Members(group))
            {
                long length = store.GetInfo(m.Tensor).Shape[m.Axis];
                if (length % size != 0)
                    throw new InvalidPermutationSpecException(Source, $"tensor '{m.Tensor}' axis {m.Axis} has length {length}, not a multiple of group '{group}' size {size}");
            }
            sizes[group] = (int)size;
        }
        return sizes;
    }

    /// <summary>Returns a copy of <paramref name="store"/> with every listed axis permuted: unit i of the result is unit
    /// <c>permutations[group][i]</c> of the input. Unlisted tensors are copied unchanged. Dtypes are kept (a permutation
    /// moves whole elements), so the result computes exactly the same function.</summary>
    /// <param name="store">The checkpoint to permute.</param>
    /// <param name="permutations">A permutation of 0…size−1 for each group; missing groups stay identity.</param>
    /// <exception cref="InvalidPermutationSpecException">The spec does not fit the store, or a permutation has the
    /// wrong length or is not a permutation.</exception>
    public InMemoryTensorStore Apply(TensorStore store, IReadOnlyDictionary<string, int[]> permutations)
    {
        ArgumentNullException.ThrowIfNull(permutations);
        var sizes = ResolveSizes(store);
        foreach (var (group, perm) in permutations)
        {
            if (!sizes.TryGetValue(group, out int size))
                throw new InvalidPermutationSpecException(Source, $"permutation given for unknown group '{group}'");
            CheckPermutation(group, perm, size);
        }
        var result = new InMemoryTensorStore(store.Path);
        foreach (var (key, value) in store.Metadata) result.WithMetadata(key, value);
        foreach (var info in store.Tensors)
        {
            using var buffer = store.Read(info.Name);
            byte[] bytes = buffer.Bytes.ToArray();
            var axes = AxesOf(info.Name);
            for (int axis = 0; axis < axes.Length; axis++)
            {
                if (axes[axis] is not string group || !permutations.TryGetValue(group, out var perm)) continue;
                bytes = PermuteAxis(bytes, info, axis, perm);
            }
            result.Add(info, bytes);
        }
        return result;
    }

    /// <summary>Index i of an axis of length <paramref name="length"/> reads source index
    /// perm[i / block]·block + i % block, where block = length / perm.Length.</summary>
    internal static int[] ExpandToAxis(int[] perm, long length)
    {
        int block = (int)(length / perm.Length);
        if (block == 1) return perm;
        var index = new int[length];
        for (int i = 0; i < index.Length; i++) index[i] = perm[i / block] * block + i % block;
        return index;
    }

    private static byte[] PermuteAxis(byte[] source, TensorInfo info, int axis, int[] perm)
    {
        var dims = info.Shape.ToArray();
        var index = ExpandToAxis(perm, dims[axis]);
        long outer = 1;
        for (int k = 0; k < axis; k++) outer *= dims[k];
        long inner = info.DType.SizeInBytes();
        for (int k = axis + 1; k < dims.Length; k++) inner *= dims[k];
        int length = (int)dims[axis];
        int innerBytes = (int)inner;
        var result = new byte[source.Length];
        for (long o = 0; o < outer; o++)
        {
            long baseOffset = o * length * inner;
            for (int i = 0; i < length; i++)
                Buffer.BlockCopy(source, (int)(baseOffset + (long)index[i] * inner), result, (int)(baseOffset + (long)i * inner), innerBytes);
        }
        return result;
    }

    private void CheckPermutation(string group, int[] perm, int size)
    {
        if (perm is null || perm.Length != size)
            throw new InvalidPermutationSpecException(Source, $"permutation for group '{group}' has {perm?.Length ?? 0} entries; the group has size {size}");
        var seen = new bool[size];
        foreach (int p in perm)
        {
            if ((uint)p >= (uint)size || seen[p])
                throw new InvalidPermutationSpecException(Source, $"permutation for group '{group}' is not a permutation of 0…{size - 1} (entry {p})");
            seen[p] = true;
        }
    }
}
