using WeightSpace.Analysis.Language;
using WeightSpace.Analysis.Lora;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Similarity;

/// <summary>Layer similarity of transformers: between consecutive blocks (a block's input against its output, the
/// "secretly linear" measure) and between the same block of two models, from hidden states on a text; and a
/// weight-only variant where no forward pass exists.</summary>
/// <remarks>
/// <para>Hidden states come from <see cref="CausalLanguageModel.HiddenStates"/>: the residual stream entering each
/// block, and the last block's output before the final norm. The samples are the token positions of
/// <see cref="LayerSimilarityOptions.MaxWindows"/> windows of the text; the indices are
/// <see cref="RepresentationSimilarity"/>'s.</para>
/// <para>Weight-only: a matrix W [out, in] is read as a representation of its input coordinates — n = in samples (the
/// columns), each described by its out-dimensional image W e_j, i.e. X = Wᵀ. Two same-shaped matrices (the same role
/// in consecutive blocks, or the same tensor of two checkpoints) are compared with linear CKA on these, which is 1
/// when one is an orthogonal transform (or multiple) of the other's output space, and with the other two indices.</para>
/// </remarks>
public static class LayerSimilarity
{
    /// <summary>Runs every variant the inputs allow.</summary>
    /// <param name="modelPath">A Hugging Face model folder (or a checkpoint for the weight-only variant).</param>
    /// <param name="againstPath">A second model of the same architecture, or null.</param>
    /// <param name="textPath">A UTF-8 text for the hidden states, or null for the weight-only variant alone.</param>
    /// <param name="options">Sampling; defaults if null.</param>
    /// <param name="ct">Checked between steps.</param>
    /// <exception cref="WeightSpaceException">A model cannot be opened or run, or the text is shorter than one window.</exception>
    public static SimilarityReport Analyze(string modelPath, string? againstPath, string? textPath, LayerSimilarityOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        options ??= new LayerSimilarityOptions();
        // A PEFT adapter folder as the model is its base (the --against model) with the adapter merged in on read.
        string? adapter = AdaptedTensorStore.IsAdapterFolder(modelPath) ? modelPath : null;
        if (adapter is not null && againstPath is null)
            throw new WeightSpaceException($"{modelPath}: is a PEFT adapter; compare it with its base (--against BASE)");
        IReadOnlyList<LayerPairSimilarity> blocks = [], againstBlocks = [], cross = [];
        int samples = 0;
        if (textPath is not null)
        {
            var states = adapter is null ? States(modelPath, null, textPath, options, ct, out samples) : States(againstPath!, adapter, textPath, options, ct, out samples);
            blocks = Consecutive(states, samples);
            if (againstPath is not null)
            {
                var other = States(againstPath, null, textPath, options, ct, out _);
                if (other.Length != states.Length || other[0].Length != states[0].Length)
                    throw new WeightSpaceException($"{againstPath}: has {other.Length - 1} blocks of width {other[0].Length / samples}, {modelPath} {states.Length - 1} of width {states[0].Length / samples}");
                againstBlocks = Consecutive(other, samples);
                cross = [.. states.Select((s, l) => new LayerPairSimilarity(Label("state", l), l, RepresentationSimilarity.Compare(s, other[l], samples)))];
            }
        }
        using var against = againstPath is null ? null : Formats.Checkpoint.Open(againstPath);
        using TensorStore model = adapter is null ? Formats.Checkpoint.Open(modelPath) : AdaptedTensorStore.Open(against!, adapter);
        var (consecutiveWeights, crossWeights) = Weights(model, against, ct);
        return new SimilarityReport(modelPath, againstPath, textPath, samples, blocks, againstBlocks, cross, consecutiveWeights, crossWeights);
    }

    // The tensor name with its block index blanked: model.layers.{}.mlp.down_proj.weight.
    private static string Template(string name, int layer)
    {
        string index = "." + layer.ToString(CultureInfo.InvariantCulture) + ".";
        int at = name.IndexOf(index, StringComparison.Ordinal);
        if (at < 0 && name.StartsWith(index[1..], StringComparison.Ordinal)) return "{}." + name[index[1..].Length..];
        return at < 0 ? name : string.Concat(name.AsSpan(0, at), ".{}.", name.AsSpan(at + index.Length));
    }

    private static string Label(string kind, int index) => string.Create(CultureInfo.InvariantCulture, $"{kind} {index}");

    private static LayerPairSimilarity[] Consecutive(float[][] states, int samples) =>
        [.. Enumerable.Range(0, states.Length - 1).Select(l => new LayerPairSimilarity(Label("block", l), l, RepresentationSimilarity.Compare(states[l], states[l + 1], samples)))];

    /// <summary>Every block's hidden states on the first windows of the text, each [samples, hidden].</summary>
    private static float[][] States(string modelPath, string? adapterPath, string textPath, LayerSimilarityOptions options, CancellationToken ct, out int samples)
    {
        using var files = LanguageModelFiles.Open(modelPath, adapterPath);
        var ids = files.LoadTokenizer().Encode(File.ReadAllBytes(textPath), textPath);
        using var lm = new CausalLanguageModel(files.Weights, files.Config);
        int window = Math.Min(options.Window, lm.MaxSequenceLength);
        int windows = Math.Min(options.MaxWindows, ids.Length / window);
        if (windows < 1) throw new WeightSpaceException($"{textPath}: has {ids.Length} tokens, fewer than one window of {window}");
        samples = windows * window;
        int width = lm.Config.HiddenSize;
        var states = new float[lm.Config.LayerCount + 1][];
        for (int l = 0; l < states.Length; l++) states[l] = new float[checked(samples * width)];
        for (int start = 0; start < windows; start += options.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            int rows = Math.Min(options.BatchSize, windows - start);
            var batch = lm.HiddenStates(ids.AsSpan(start * window, rows * window), rows);
            for (int l = 0; l < states.Length; l++) batch[l].CopyTo(states[l].AsSpan(start * window * width));
        }
        return states;
    }

    private static (IReadOnlyList<LayerPairSimilarity>, IReadOnlyList<LayerPairSimilarity>) Weights(TensorStore model, TensorStore? against, CancellationToken ct)
    {
        var matrices = model.Tensors.Where(t => t.Shape.Rank == 2 && t.DType.IsFloatingPoint())
            .Select(t => (Info: t, Name: TensorNames.Parse(t.Name))).Where(t => t.Name.Layer is not null && t.Name.Role != TensorRole.Other && t.Name.Parameter == "weight").ToList();
        var consecutive = new List<LayerPairSimilarity>();
        var cross = new List<LayerPairSimilarity>();
        // The same matrix one block on: the same name with the block index + 1 (two tensors can share a role and block,
        // e.g. a LoRA's A and B factors, so the role alone does not name it).
        var byTemplate = matrices.ToDictionary(m => (Template(m.Info.Name, m.Name.Layer!.Value), m.Name.Layer!.Value), m => m.Info);
        foreach (var (info, name) in matrices)
        {
            ct.ThrowIfCancellationRequested();
            if (byTemplate.TryGetValue((Template(info.Name, name.Layer!.Value), name.Layer!.Value + 1), out var next) && next.Shape == info.Shape)
                consecutive.Add(new LayerPairSimilarity(info.Name, name.Layer, CompareWeights(model, info, model, next)));
            if (against is not null && against.TryGetInfo(info.Name, out var other) && other.Shape == info.Shape)
                cross.Add(new LayerPairSimilarity(info.Name, name.Layer, CompareWeights(model, info, against, other)));
        }
        return (consecutive, cross);
    }

    /// <summary>The weight-only indices of two same-shaped matrices W [out, in]: samples are the in columns (X = Wᵀ).</summary>
    public static SimilarityScores CompareWeights(TensorStore a, TensorInfo infoA, TensorStore b, TensorInfo infoB)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(infoA);
        ArgumentNullException.ThrowIfNull(infoB);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor Read(TensorStore s, TensorInfo i)
        {
            using var buffer = s.Read(i.Name);
            return buffer.ToTorch(ScalarType.Float64).view(i.Shape[0], i.Shape[1]).mT;
        }
        return RepresentationSimilarity.Compare(Read(a, infoA), Read(b, infoB));
    }
}
