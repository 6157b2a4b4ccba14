using System.Buffers;
using System.Collections.Frozen;

namespace WeightSpace.Formats.Onnx;

/// <summary>An open ONNX model: every initializer and Constant value of every graph (subgraphs of If/Loop/Scan
/// included) as a lazily read <see cref="TensorStore"/>, plus the top-level graph's structure. Open one with
/// <see cref="OnnxReader.Open"/>.</summary>
/// <remarks>
/// <para>Memory held is metadata only: the model file and any external-data files are memory-mapped, raw_data and
/// external tensors are read as zero-copy views, and typed-field tensors are decoded into a pooled buffer per read.</para>
/// <para>Names: a weight is named by its initializer name or its Constant node's output. Store names must be unique,
/// so the first tensor (in walk order: per graph, initializers then nodes, subgraphs depth first) to use a name keeps
/// it, and a later one becomes <c>{GraphPath}/{name}</c> (then <c>…#2</c>, <c>…#3</c>). <see cref="OnnxWeight.OnnxName"/>
/// always has the name as written.</para>
/// </remarks>
public sealed class OnnxModel : TensorStore
{
    private readonly MappedFile _file;
    private readonly OnnxExternalFiles _externalFiles;
    private readonly FrozenDictionary<string, OnnxTensorRecord> _records;
    private readonly TensorInfo[] _tensors;
    private readonly FrozenDictionary<string, string> _metadata;

    internal OnnxModel(string path, MappedFile file, OnnxExternalFiles externalFiles, OnnxModelWalker walk) : base(path)
    {
        _file = file;
        _externalFiles = externalFiles;
        _records = walk.Records.ToFrozenDictionary(r => r.Weight.Info.Name, StringComparer.Ordinal);
        Weights = walk.Records.Select(r => r.Weight).ToArray();
        _tensors = Weights.Select(w => w.Info).ToArray();
        Unsupported = walk.Unsupported.ToArray();
        Graph = walk.Graph!;
        IrVersion = walk.IrVersion;
        ProducerName = walk.ProducerName;
        ProducerVersion = walk.ProducerVersion;
        OpsetImports = walk.OpsetImports.ToArray();
        MetadataProps = walk.MetadataProps.ToArray();
        _metadata = BuildMetadata(walk);
    }

    /// <inheritdoc/>
    public override CheckpointFormat Format => CheckpointFormat.Onnx;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <summary>Every readable weight, in walk order, with where it is declared and how it is stored.</summary>
    public IReadOnlyList<OnnxWeight> Weights { get; }

    /// <summary>Weight-like tensors that cannot be read (element types without a <see cref="DType"/>, sparse or string
    /// tensors), each with the reason.</summary>
    public IReadOnlyList<OnnxUnsupportedTensor> Unsupported { get; }

    /// <summary>Structure of the top-level graph: nodes, inputs, outputs, initializer names.</summary>
    public OnnxGraph Graph { get; }

    /// <summary><c>ModelProto.ir_version</c>.</summary>
    public long IrVersion { get; }

    /// <summary><c>ModelProto.producer_name</c> (e.g. <c>pytorch</c>); empty if absent.</summary>
    public string ProducerName { get; }

    /// <summary><c>ModelProto.producer_version</c>; empty if absent.</summary>
    public string ProducerVersion { get; }

    /// <summary><c>ModelProto.opset_import</c>, in file order.</summary>
    public IReadOnlyList<OnnxOpsetImport> OpsetImports { get; }

    /// <summary><c>ModelProto.metadata_props</c>, in file order, duplicates kept.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> MetadataProps { get; }

    /// <summary>Number of distinct external-data files mapped.</summary>
    public int ExternalFileCount => _externalFiles.Count;

    /// <summary>The metadata_props entries under their own keys (the last wins for a repeated key), plus the model's
    /// own fields under <c>onnx.ir_version</c>, <c>onnx.producer_name</c>, <c>onnx.producer_version</c>,
    /// <c>onnx.domain</c>, <c>onnx.model_version</c> and <c>onnx.opset_import</c> (<c>domain:version</c> pairs joined by
    /// <c>,</c>, the default domain written as <c>ai.onnx</c>). The model's fields win over a metadata_props entry
    /// with the same key.</summary>
    public override IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        var record = _records[info.Name];
        var bytes = record.Bytes;
        switch (record.Weight.Storage)
        {
            case OnnxStorage.RawData: return TensorBuffer.FromMappedFile(info, _file, bytes.DataOffset);
            case OnnxStorage.External: return TensorBuffer.FromMappedFile(info, bytes.ExternalFile!, bytes.DataOffset);
            case OnnxStorage.Empty: return TensorBuffer.FromBytes(info, ReadOnlyMemory<byte>.Empty);
        }
        int byteCount = (int)info.ByteCount;
        byte[] rented = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            OnnxTypedFieldDecoder.Decode(_file.Span(bytes.MessageOffset, bytes.MessageLength), bytes.Field, info.DType, rented.AsSpan(0, byteCount));
            return TensorBuffer.FromPooled(info, rented);
        }
        catch (ProtoFormatException e)
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
            throw new InvalidCheckpointException(Path, info.Name, e.Message, e);
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _externalFiles.Dispose();
            _file.Dispose();
        }
        base.Dispose(disposing);
    }

    private static FrozenDictionary<string, string> BuildMetadata(OnnxModelWalker walk)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in walk.MetadataProps) map[key] = value;
        map["onnx.ir_version"] = walk.IrVersion.ToString(CultureInfo.InvariantCulture);
        map["onnx.producer_name"] = walk.ProducerName;
        map["onnx.producer_version"] = walk.ProducerVersion;
        map["onnx.domain"] = walk.Domain;
        map["onnx.model_version"] = walk.ModelVersion.ToString(CultureInfo.InvariantCulture);
        map["onnx.opset_import"] = string.Join(",", walk.OpsetImports.Select(o =>
            $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)}:{o.Version.ToString(CultureInfo.InvariantCulture)}"));
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
