using System.Collections.Concurrent;
using LLama;
using LLama.Common;
using LLama.Exceptions;
using LLama.Native;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>llama.cpp itself (through LLamaSharp 0.30.0 and its CPU backend): loads a GGUF file and returns the
/// logits of every position of a token sequence. Tests skip visibly when the native backend cannot load.</summary>
internal static class LlamaCpp
{
    private static readonly ConcurrentQueue<string> Log = new();
    private static readonly Lazy<string?> BackendProblem = new(Probe);

    /// <summary>Skips the test, saying why, when libllama.so cannot be loaded on this machine.</summary>
    public static void RequireBackend()
    {
        if (BackendProblem.Value is { } problem) Assert.Skip($"llama.cpp native backend (LLamaSharp.Backend.Cpu 0.30.0) does not load here: {problem}");
    }

    private static string? Probe()
    {
        try
        {
            // Before the first native call: keep llama.cpp's loader chatter out of the test output, keep errors for messages.
            NativeLibraryConfig.All.WithLogCallback((level, message) =>
            {
                if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning) Log.Enqueue(message);
            });
            NativeApi.llama_empty_call();
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or RuntimeError or EntryPointNotFoundException or BadImageFormatException)
        {
            return $"{e.GetType().Name}: {(e.InnerException ?? e).Message}";
        }
    }

    /// <summary>llama.cpp's token ids of <paramref name="text"/> with the file's vocabulary (no BOS, special tokens not
    /// parsed: plain text, as our tokenizer encodes it).</summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the file; the message carries its error log.</exception>
    public static int[] Tokenize(string ggufPath, string text)
    {
        using var weights = Load(new ModelParams(ggufPath) { ContextSize = 512, GpuLayerCount = 0, Threads = 2 });
        return [.. weights.Tokenize(text, false, false, System.Text.Encoding.UTF8).Select(t => (int)t)];
    }

    /// <summary>Loads the file, turning llama.cpp's refusal into a message that carries its error log.</summary>
    private static LLamaWeights Load(ModelParams parameters)
    {
        RequireBackend();
        while (Log.TryDequeue(out _)) { }
        try
        {
            return LLamaWeights.LoadFromFile(parameters);
        }
        catch (LoadWeightsFailedException e)
        {
            throw new InvalidOperationException($"llama.cpp refused {parameters.ModelPath}: {string.Join(" ", Log).Trim()}", e);
        }
    }

    /// <summary>Row-major [length, vocab] logits of <paramref name="tokens"/> fed as one sequence from position 0.</summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused the file; the message carries its error log.</exception>
    public static float[] Logits(string ggufPath, int[] tokens)
    {
        var parameters = new ModelParams(ggufPath) { ContextSize = 512, BatchSize = 512, GpuLayerCount = 0, Threads = 2,
            // F32 K/V cache: llama.cpp's default F16 cache rounds keys and values to 11 bits, a 1e-3-level error by itself.
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32 };
        using (var weights = Load(parameters))
        using (var context = weights.CreateContext(parameters))
        {
            int vocab = weights.Vocab.Count;
            var batch = new LLamaBatch();
            for (int i = 0; i < tokens.Length; i++) batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, logits: true);
            var result = context.NativeHandle.Decode(batch);
            if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}");
            var logits = new float[tokens.Length * vocab];
            for (int i = 0; i < tokens.Length; i++) context.NativeHandle.GetLogitsIth(i).CopyTo(logits.AsSpan(i * vocab, vocab));
            return logits;
        }
    }
}
