namespace WeightSpace.Cli;

/// <summary>One progress bar on stderr around a long library call, shown only when stderr is a terminal (pipelines,
/// logs and tests see nothing).</summary>
internal static class ProgressBars
{
    /// <summary>Runs <paramref name="work"/> with a bar of <paramref name="total"/> units; <paramref name="done"/> reads
    /// the units finished from a progress report, <paramref name="describe"/> (optional) the bar's new label.</summary>
    /// <param name="context">The invocation.</param>
    /// <param name="label">The bar's label until the first report.</param>
    /// <param name="total">Units of the whole run (bytes when <paramref name="bytes"/>).</param>
    /// <param name="work">The library call; gets null when there is no terminal.</param>
    /// <param name="done">Units finished so far, from a report.</param>
    /// <param name="describe">The label for a report, or null to keep the label.</param>
    /// <param name="bytes">Units are bytes: also show the transfer speed.</param>
    public static T Run<TProgress, T>(CliContext context, string label, long total, Func<IProgress<TProgress>?, T> work,
        Func<TProgress, long> done, Func<TProgress, string>? describe = null, bool bytes = false)
    {
        if (!context.ErrorIsTerminal) return work(null);
        T result = default!;
        ProgressColumn[] columns = bytes
            ? [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn()]
            : [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()];
        context.ErrorConsole.Progress().Columns(columns).Start(ctx =>
        {
            var task = ctx.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total));
            result = work(new Progress<TProgress>(p =>
            {
                task.Value = done(p);
                if (describe is not null) task.Description = Markup.Escape(describe(p));
            }));
            task.Value = task.MaxValue;
        });
        return result;
    }

    /// <summary>As <see cref="Run{TProgress,T}"/> for a call without a result.</summary>
    public static void Run<TProgress>(CliContext context, string label, long total, Action<IProgress<TProgress>?> work,
        Func<TProgress, long> done, Func<TProgress, string>? describe = null, bool bytes = false) =>
        Run<TProgress, bool>(context, label, total, p => { work(p); return true; }, done, describe, bytes);
}
