using System.Collections.Frozen;

namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>The merge methods WeightSpace knows, by mergekit name. An explicit list: no reflection, no registration side effects.</summary>
public static class MergeMethods
{
    /// <summary>Every method, keyed by its YAML/CLI name.</summary>
    public static FrozenDictionary<string, IMergeMethod> All { get; } = new IMergeMethod[]
    {
        new Linear(), new TaskArithmetic(), new Ties(), new DareLinear(), new DareTies(), new Breadcrumbs(), new BreadcrumbsTies(),
        new Della(), new DellaLinear(), new Slerp(), new NuSlerp(), new MultiSlerp(), new Karcher(), new ModelStock(), new Sce(),
        new Tsv(), new IsoC(), new Passthrough(), new NearSwap(), new ArceeFusion(), new Ram(), new RamPlusTensorLocal(),
    }.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);

    /// <summary>The method named <paramref name="name"/>.</summary>
    /// <exception cref="MergeConfigException">No such method; the message lists the valid names.</exception>
    public static IMergeMethod Get(string name, long? line = null) =>
        All.TryGetValue(name, out var method) ? method
            : throw new MergeConfigException("merge_method", line, $"unknown method '{name}'; valid: {string.Join(", ", All.Keys.Order(StringComparer.Ordinal))}");
}
