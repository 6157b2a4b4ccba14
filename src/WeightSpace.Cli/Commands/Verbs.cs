namespace WeightSpace.Cli.Commands;

/// <summary>The explicit list of verbs of the <c>weightspace</c> tool, in help order.</summary>
internal static class Verbs
{
    public static IEnumerable<Command> Create(CliContext context) =>
    [
        InspectCommand.Create(context),
        CheckCommand.Create(context),
        ConvertCommand.Create(context),
        SpectrumCommand.Create(context),
        DiffCommand.Create(context),
        TaskVecCommand.Create(context),
        LoraCommand.Create(context),
        MergeCommand.Create(context),
        AlignCommand.Create(context),
        LmcCommand.Create(context),
        EvalCommand.Create(context),
        NeuronsCommand.Create(context),
        OutliersCommand.Create(context),
        HeadsCommand.Create(context),
        RanksCommand.Create(context),
        CompressCommand.Create(context),
        SimilarityCommand.Create(context),
        CombineCommand.Create(context),
        SlurmCommand.Create(context),
        ReportCommand.Create(context),
        DemoCommand.Create(context),
    ];
}
