using static TorchSharp.torch;

namespace WeightSpace.Analysis.Language;

/// <summary>Sets torch's process-wide intra-op thread count for a unit of work and restores it on dispose.</summary>
internal readonly struct TorchThreadScope : IDisposable
{
    private readonly int _previous;

    private TorchThreadScope(int previous) => _previous = previous;

    public static TorchThreadScope Set(int? threads)
    {
        if (threads is not int wanted || wanted < 1) return default;
        int previous = get_num_threads();
        if (previous == wanted) return default;
        set_num_threads(wanted);
        return new TorchThreadScope(previous);
    }

    public void Dispose()
    {
        if (_previous > 0) set_num_threads(_previous);
    }
}
