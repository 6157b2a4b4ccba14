namespace WeightSpace.Analysis.Merging;

/// <summary>A parameter a merge method accepts, with mergekit's name.</summary>
/// <param name="Name">YAML/CLI name, e.g. <c>density</c>.</param>
/// <param name="Scope">Per model or global.</param>
/// <param name="Kind">Number, boolean or choice.</param>
/// <param name="Default">Default value (a choice's index, 1/0 for booleans); <see langword="null"/> if the parameter is required.</param>
/// <param name="Minimum">Smallest accepted number (inclusive).</param>
/// <param name="Maximum">Largest accepted number (inclusive).</param>
/// <param name="Description">One line for help and docs.</param>
public sealed record ParameterSpec(string Name, ParameterScope Scope, ParameterKind Kind, double? Default, double Minimum, double Maximum, string Description)
{
    /// <summary>Accepted values of a <see cref="ParameterKind.Choice"/> parameter, in index order.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>True if the parameter has no default.</summary>
    public bool IsRequired => Default is null;

    internal static ParameterSpec Number(string name, ParameterScope scope, double? @default, double min, double max, string description) =>
        new(name, scope, ParameterKind.Number, @default, min, max, description);

    internal static ParameterSpec Flag(string name, bool @default, string description) =>
        new(name, ParameterScope.Global, ParameterKind.Boolean, @default ? 1 : 0, 0, 1, description);

    /// <summary>The <c>semantics</c> option every method with a mergekit-vs-paper difference shares.</summary>
    internal static ParameterSpec Semantics(string description) =>
        new("semantics", ParameterScope.Global, ParameterKind.Choice, 0, 0, 1, description) { Choices = ["mergekit", "paper"] };

    internal static readonly ParameterSpec Weight = Number("weight", ParameterScope.PerModel, null, -1e6, 1e6, "Weight of the model's contribution.");
    internal static readonly ParameterSpec Lambda = Number("lambda", ParameterScope.Global, 1.0, -1e6, 1e6, "Scale of the merged task vector before it is added to the base.");
    internal static readonly ParameterSpec Int8Mask = Flag("int8_mask", false, "Accepted for mergekit compatibility; masks are never materialised, so it changes nothing.");

    /// <summary>A YAML value (number or word) as this parameter's number: booleans 0/1, choices their index.</summary>
    /// <exception cref="MergeConfigException">The value has the wrong kind or is out of range (the message names the parameter).</exception>
    internal double Convert(object value, long? line)
    {
        double x;
        switch (Kind)
        {
            case ParameterKind.Boolean:
                x = value switch
                {
                    double d when d is 0 or 1 => d,
                    string s when s.Equals("true", StringComparison.OrdinalIgnoreCase) => 1,
                    string s when s.Equals("false", StringComparison.OrdinalIgnoreCase) => 0,
                    _ => throw new MergeConfigException(Name, line, $"'{value}' is not true or false"),
                };
                break;
            case ParameterKind.Choice:
                int i = value is string text ? Choices.ToList().IndexOf(text) : -1;
                if (i < 0) throw new MergeConfigException(Name, line, $"'{value}' is not one of {string.Join(", ", Choices)}");
                x = i;
                break;
            default:
                x = value as double? ?? throw new MergeConfigException(Name, line, $"'{value}' is not a number");
                break;
        }
        MergeParameters.CheckRange(this, x, line);
        return x;
    }
}
