namespace WeightSpace.Analysis.Merging.Config;

/// <summary>A parameter value as mergekit writes it: a scalar, a gradient list interpolated over layer depth, or a list of
/// name-filtered values (<c>[{filter: self_attn, value: 0.5}, {value: 0.3}]</c>).</summary>
public sealed class ParameterSetting
{
    private readonly double? _number;
    private readonly string? _text;
    private readonly double[]? _gradient;
    private readonly string[]? _textList;
    private readonly (string? Filter, ParameterSetting Value)[]? _filtered;

    private ParameterSetting(double? number, string? text, double[]? gradient, string[]? textList, (string?, ParameterSetting)[]? filtered, long? line)
    {
        _number = number; _text = text; _gradient = gradient; _textList = textList; _filtered = filtered; Line = line;
    }

    /// <summary>1-based YAML line the value came from, if it came from YAML.</summary>
    public long? Line { get; }

    /// <summary>A number.</summary>
    public static ParameterSetting Of(double value) => new(value, null, null, null, null, null);

    /// <summary>A word (<c>true</c>, <c>paper</c>, …).</summary>
    public static ParameterSetting Of(string value) => new(null, value, null, null, null, null);

    /// <summary>A gradient: values spread evenly over the layers of a slice and linearly interpolated (mergekit's rule).</summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    public static ParameterSetting Gradient(params double[] values) =>
        values.Length == 0 ? throw new ArgumentException("A gradient needs at least one value.", nameof(values)) : new(null, null, (double[])values.Clone(), null, null, null);

    /// <summary>Name-filtered values, first match wins; a null filter (or <c>*</c>) matches every tensor.</summary>
    public static ParameterSetting Filtered(params (string? Filter, ParameterSetting Value)[] entries) =>
        new(null, null, null, null, ((string?, ParameterSetting)[])entries.Clone(), null);

    internal static ParameterSetting Number(double value, long? line) => new(value, null, null, null, null, line);
    internal static ParameterSetting Text(string value, long? line) => new(null, value, null, null, null, line);
    internal static ParameterSetting GradientAt(double[] values, long? line) => new(null, null, values, null, null, line);
    internal static ParameterSetting TextListAt(string[] values, long? line) => new(null, null, null, values, null, line);
    internal static ParameterSetting FilteredAt((string?, ParameterSetting)[] entries, long? line) => new(null, null, null, null, entries, line);

    /// <summary>True for a plain number or word (no gradient, no filters).</summary>
    public bool IsScalar => _number is not null || _text is not null;

    /// <summary>The value for tensor <paramref name="tensorName"/> at relative depth <paramref name="t"/> ∈ [0, 1]: a
    /// <see cref="double"/>, a <see cref="string"/>, or null when no filter matches.</summary>
    /// <remarks>Gradient: with s = t·(len − 1), i = ⌊s⌋, the value is (1 − (s − i))·g[i] + (s − i)·g[min(i + 1, len − 1)];
    /// a list of words picks g[⌊s⌋]. Filters match by substring of the tensor name (mergekit's <c>evaluate_setting</c>).</remarks>
    public object? Evaluate(string tensorName, double t)
    {
        if (_number is double d) return d;
        if (_text is not null) return _text;
        if (_gradient is not null)
        {
            double scaled = t * (_gradient.Length - 1);
            int i0 = (int)scaled, i1 = Math.Min(_gradient.Length - 1, i0 + 1);
            double frac = scaled - i0;
            return (1 - frac) * _gradient[i0] + frac * _gradient[i1];
        }
        if (_textList is not null) return _textList[(int)(t * (_textList.Length - 1))];
        foreach (var (filter, value) in _filtered!)
            if (filter is null || filter == "*" || tensorName.Contains(filter, StringComparison.Ordinal))
                return value.Evaluate(tensorName, t);
        return null;
    }

    /// <summary>Every value the setting can produce (gradient points, filtered values), to check them before planning.</summary>
    internal IEnumerable<object> Leaves()
    {
        if (_number is double d) yield return d;
        else if (_text is not null) yield return _text;
        else if (_gradient is not null) foreach (double g in _gradient) yield return g;
        else if (_textList is not null) foreach (string x in _textList) yield return x;
        else foreach (var (_, value) in _filtered!) foreach (object leaf in value.Leaves()) yield return leaf;
    }

    /// <summary>A value typed on a command line: a number when it parses as one (invariant culture), else a word.</summary>
    public static ParameterSetting Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? Of(x) : Of(text);
    }

    /// <summary>The setting as a YAML flow value that <see cref="MergeConfig.Parse(string)"/> reads back to an equal setting:
    /// numbers round-trip (<c>"R"</c>), words are double-quoted so they never turn into numbers or booleans.</summary>
    internal string ToYaml() =>
        _number is double d ? MergeConfigBuilder.YamlNumber(d)
        : _text is not null ? MergeConfigBuilder.YamlString(_text)
        : _gradient is not null ? "[" + string.Join(", ", _gradient.Select(MergeConfigBuilder.YamlNumber)) + "]"
        : _textList is not null ? "[" + string.Join(", ", _textList.Select(MergeConfigBuilder.YamlString)) + "]"
        : "[" + string.Join(", ", _filtered!.Select(f => f.Filter is null
            ? $"{{value: {f.Value.ToYaml()}}}"
            : $"{{filter: {MergeConfigBuilder.YamlString(f.Filter)}, value: {f.Value.ToYaml()}}}")) + "]";

    /// <summary>YAML-like text of the setting, for messages.</summary>
    public override string ToString() =>
        _number is double d ? d.ToString(CultureInfo.InvariantCulture)
        : _text ?? (_gradient is not null ? "[" + string.Join(", ", _gradient.Select(g => g.ToString(CultureInfo.InvariantCulture))) + "]"
        : _textList is not null ? "[" + string.Join(", ", _textList) + "]"
        : "[" + string.Join(", ", _filtered!.Select(f => $"{{filter: {f.Filter ?? "*"}, value: {f.Value}}}")) + "]");
}
