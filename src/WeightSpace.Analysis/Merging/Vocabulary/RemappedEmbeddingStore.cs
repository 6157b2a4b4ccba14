namespace WeightSpace.Analysis.Merging.Vocabulary;

/// <summary>A model whose embedding and output-head tensors have the merge's output vocabulary rows
/// (<see cref="MergeVocabulary.Remap"/>), computed when read; every other tensor is the model's own.</summary>
internal sealed class RemappedEmbeddingStore : TensorStore
{
    private readonly string _model;
    private readonly TensorStore _inner;
    private readonly MergeVocabulary _vocabulary;
    private readonly IReadOnlyDictionary<string, TensorStore> _all;
    private readonly TensorInfo[] _tensors;
    private readonly HashSet<string> _remapped = new(StringComparer.Ordinal);

    public RemappedEmbeddingStore(string model, TensorStore inner, MergeVocabulary vocabulary, IReadOnlyDictionary<string, TensorStore> all) : base(inner.Path)
    {
        _model = model;
        _inner = inner;
        _vocabulary = vocabulary;
        _all = all;
        _tensors = inner.Tensors.Select(t =>
        {
            if (!vocabulary.IsEmbedding(model, t)) return t;
            _remapped.Add(t.Name);
            return t with { Shape = new Shape(vocabulary.Rows, t.Shape[1]) };
        }).ToArray();
    }

    public override CheckpointFormat Format => _inner.Format;

    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    public override IReadOnlyDictionary<string, string> Metadata => _inner.Metadata;

    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        if (!_remapped.Contains(info.Name)) return _inner.Read(info.Name);
        var values = _vocabulary.Remap(_model, info.Name, _all);
        var bytes = new byte[info.ByteCount];
        DTypeConversion.FromSingle(values, info.DType, bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }
}
