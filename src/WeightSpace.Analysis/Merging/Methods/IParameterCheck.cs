namespace WeightSpace.Analysis.Merging.Methods;

/// <summary>Methods whose parameters constrain each other check them per tensor while the plan is built.</summary>
internal interface IParameterCheck
{
    /// <summary>Returns a problem description, or null if the values are acceptable.</summary>
    string? Check(MergeParameters parameters, Shape shape);
}
