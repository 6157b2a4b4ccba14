using System.Diagnostics;

namespace WeightSpace.Analysis.Language;

/// <summary>Scores a tokenized text with a causal language model under a window protocol (docs/evaluation.md).</summary>
public static class Perplexity
{
    /// <summary>One evaluation window: tokens [<see cref="Start"/>, Start + <see cref="Length"/>) are fed; predictions
    /// of window positions <see cref="FirstScored"/> … Length − 1 are scored.</summary>
    public readonly record struct Window(int Start, int Length, int FirstScored);

    /// <summary>The windows of a text of <paramref name="tokenCount"/> tokens: starts 0, stride, 2·stride, …; each scores
    /// the tokens no earlier window fed, except a window's first position, which has no context.</summary>
    /// <remarks>With stride = window (the default) every window is independent and scores positions 1 … window − 1;
    /// with a smaller stride every token from the second on is scored exactly once, with at least window − stride tokens of
    /// context after the first window. The last window may be shorter.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">window &lt; 2, or stride outside 1 … window.</exception>
    public static IReadOnlyList<Window> Windows(int tokenCount, int window, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stride, window);
        var windows = new List<Window>();
        int fedUpTo = 0;
        for (int start = 0; start < tokenCount; start += stride)
        {
            int end = Math.Min(start + window, tokenCount);
            int firstScored = Math.Max(fedUpTo, start + 1) - start;
            if (firstScored < end - start) windows.Add(new Window(start, end - start, firstScored));
            fedUpTo = end;
            if (end == tokenCount) break;
        }
        return windows;
    }

    /// <summary>Scores <paramref name="tokens"/> with <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokens">The text's token ids.</param>
    /// <param name="byteLength">Bytes of text a token id stands for (per-byte scores); null counts one byte per token.</param>
    /// <param name="textName">The text's name, for the result and errors.</param>
    /// <param name="textBytes">Bytes in the text.</param>
    /// <param name="options">The protocol; defaults if null.</param>
    /// <param name="progress">Receives the number of windows done.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="InvalidTextException">The text has fewer than two tokens.</exception>
    /// <exception cref="ArgumentException">The window exceeds the model's maximum sequence length, or an option is out of range.</exception>
    public static TextScore Score(INextTokenScorer model, ReadOnlySpan<int> tokens, Func<int, int>? byteLength, string textName, long textBytes,
        PerplexityOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new PerplexityOptions();
        if (options.Window > model.MaxSequenceLength)
            throw new ArgumentException($"a window of {options.Window} tokens exceeds the model's max_position_embeddings {model.MaxSequenceLength}", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        if (tokens.Length < 2) throw new InvalidTextException(textName, $"has {tokens.Length} token(s); at least 2 are needed for one prediction");
        var windows = Windows(tokens.Length, options.Window, options.Stride ?? options.Window);
        if (options.MaxWindows is int max && max < windows.Count) windows = [.. windows.Take(Math.Max(1, max))];

        var sums = new double[windows.Count];
        long predictions = 0, scoredBytes = 0, fed = 0;
        var clock = Stopwatch.StartNew();
        for (int first = 0; first < windows.Count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A batch is consecutive windows of one length (all but possibly the last window).
            int length = windows[first].Length, count = 1;
            while (first + count < windows.Count && count < options.BatchSize && windows[first + count].Length == length) count++;
            var ids = new int[count * length];
            for (int w = 0; w < count; w++) tokens.Slice(windows[first + w].Start, length).CopyTo(ids.AsSpan(w * length));
            var nll = new float[count * (length - 1)];
            model.ScoreNextTokens(ids, count, nll);
            for (int w = 0; w < count; w++)
            {
                var win = windows[first + w];
                double sum = 0;
                // Prediction j − 1 of the row is the NLL of window position j.
                for (int j = win.FirstScored; j < length; j++)
                {
                    sum += nll[w * (length - 1) + j - 1];
                    scoredBytes += byteLength?.Invoke(ids[w * length + j]) ?? 1;
                }
                sums[first + w] = sum;
                predictions += length - win.FirstScored;
            }
            fed += ids.Length;
            first += count;
            progress?.Report(first);
        }
        clock.Stop();
        return new TextScore(
            Text: textName, Bytes: textBytes, Tokens: tokens.Length, Windows: windows.Count, Predictions: predictions, ScoredBytes: scoredBytes,
            NllSum: sums.Sum(), WindowNllSums: sums, Seconds: clock.Elapsed.TotalSeconds, TokensProcessed: fed);
    }
}
