using System.Collections.Frozen;

namespace WeightSpace.Analysis.Merging;

/// <summary>A method's parameter values resolved for one tensor: global values and one value per model.</summary>
public sealed class MergeParameters
{
    private readonly FrozenDictionary<string, int> _index;
    private readonly IReadOnlyList<ParameterSpec> _specs;
    private readonly double[][] _values;   // global: length 1; per model: length ModelCount

    private MergeParameters(IReadOnlyList<ParameterSpec> specs, double[][] values, int modelCount)
    {
        _specs = specs;
        _values = values;
        ModelCount = modelCount;
        _index = specs.Select((s, i) => (s.Name, i)).ToFrozenDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>Number of merged models the per-model values cover.</summary>
    public int ModelCount { get; }

    /// <summary>Builds parameters from explicit values; absent ones take their defaults.</summary>
    /// <param name="specs">The method's <see cref="IMergeMethod.Parameters"/>.</param>
    /// <param name="modelCount">Number of merged models.</param>
    /// <param name="values">Name → one value (global, or the same for every model) or <paramref name="modelCount"/> values (per model).
    /// Booleans are 1/0, choices their index.</param>
    /// <exception cref="MergeConfigException">An unknown name, a required parameter missing, a value out of range or a wrong count.</exception>
    public static MergeParameters Create(IReadOnlyList<ParameterSpec> specs, int modelCount, IReadOnlyDictionary<string, double[]>? values = null)
    {
        values ??= FrozenDictionary<string, double[]>.Empty;
        foreach (string name in values.Keys)
            if (!specs.Any(s => s.Name == name))
                throw new MergeConfigException(name, null, $"unknown parameter; valid: {string.Join(", ", specs.Select(s => s.Name))}");
        var result = new double[specs.Count][];
        for (int i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            int count = spec.Scope == ParameterScope.Global ? 1 : modelCount;
            double[] v;
            if (values.TryGetValue(spec.Name, out var given))
            {
                if (given.Length == 1) v = Enumerable.Repeat(given[0], count).ToArray();
                else if (given.Length == count) v = (double[])given.Clone();
                else throw new MergeConfigException(spec.Name, null, $"{given.Length} values given; 1 or {count} expected");
            }
            else if (spec.Default is double d) v = Enumerable.Repeat(d, count).ToArray();
            else throw new MergeConfigException(spec.Name, null, "required parameter is missing");
            foreach (double x in v) CheckRange(spec, x, null);
            result[i] = v;
        }
        return new MergeParameters(specs, result, modelCount);
    }

    internal static MergeParameters FromResolved(IReadOnlyList<ParameterSpec> specs, double[][] values, int modelCount) =>
        new(specs, values, modelCount);

    internal static void CheckRange(ParameterSpec spec, double x, long? line)
    {
        if (double.IsNaN(x) || x < spec.Minimum || x > spec.Maximum)
            throw new MergeConfigException(spec.Name, line, $"value {x} is outside [{spec.Minimum}, {spec.Maximum}]");
    }

    /// <summary>The value of global parameter <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The method has no such parameter.</exception>
    public double Global(string name) => _values[Index(name)][0];

    /// <summary>The value of <paramref name="name"/> for model <paramref name="model"/> (a global parameter gives its one value).</summary>
    public double PerModel(string name, int model)
    {
        var v = _values[Index(name)];
        return v.Length == 1 ? v[0] : v[model];
    }

    /// <summary>A boolean parameter.</summary>
    public bool Flag(string name) => Global(name) != 0;

    /// <summary>A choice parameter's value (its text).</summary>
    public string Choice(string name)
    {
        int i = Index(name);
        return _specs[i].Choices[(int)_values[i][0]];
    }

    /// <summary>True if the method's <c>semantics</c> option selects the paper's formulation.</summary>
    internal bool PaperSemantics => _index.ContainsKey("semantics") && Choice("semantics") == "paper";

    private int Index(string name) =>
        _index.TryGetValue(name, out int i) ? i : throw new KeyNotFoundException($"The merge method has no parameter '{name}'.");
}
