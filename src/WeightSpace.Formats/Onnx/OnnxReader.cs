using Google.Protobuf;

namespace WeightSpace.Formats.Onnx;

/// <summary>Opens ONNX models (<c>.onnx</c>, a serialized <c>ModelProto</c>) for lazy weight reading.</summary>
public static class OnnxReader
{
    /// <summary>Maps <paramref name="path"/>, walks every graph and validates every weight's header, dims, byte count
    /// and external-data location, without reading tensor data.</summary>
    /// <param name="path">The model file. External data is looked up relative to its folder.</param>
    /// <param name="options">Limits; <see langword="null"/> for the defaults.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="InvalidCheckpointException">The file is not a well-formed ModelProto, a tensor's dims, data
    /// or external data is inconsistent or unsafe, or a limit of <paramref name="options"/> is exceeded. The message
    /// names the file and, where one is at fault, the tensor.</exception>
    public static OnnxModel Open(string path, OnnxOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new OnnxOptions();
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw new FileNotFoundException($"ONNX model {path} does not exist.", path);

        var file = new MappedFile(fullPath);
        var external = new OnnxExternalFiles(path);
        try
        {
            if (file.Length == 0) throw new InvalidCheckpointException(path, null, "file is empty");
            // A protobuf message is limited to 2 GiB; larger models must keep their weights in external data.
            if (file.Length > int.MaxValue)
                throw new InvalidCheckpointException(path, null, $"file has {file.Length} bytes, more than the 2 GiB a protobuf message may have");
            var walker = new OnnxModelWalker(path, options, external);
            try
            {
                walker.WalkModel(file.Span(0, (int)file.Length));
            }
            catch (ProtoFormatException e)
            {
                throw new InvalidCheckpointException(path, null, $"malformed protobuf: {e.Message}", e);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new InvalidCheckpointException(path, null, $"malformed protobuf: {e.Message}", e);
            }
            return new OnnxModel(path, file, external, walker);
        }
        catch
        {
            external.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>True if <paramref name="head"/> (the first bytes of a file of <paramref name="fileLength"/> bytes)
    /// starts like a ModelProto: every complete field in it has a ModelProto field number with the right wire type,
    /// lengths fit the file, and <c>ir_version</c>, if seen, is small.</summary>
    internal static bool LooksLikeOnnx(ReadOnlySpan<byte> head, long fileLength)
    {
        if (fileLength < 2 || head.Length < 2) return false;
        int position = 0, fields = 0;
        while (position < head.Length)
        {
            if (!TryVarint(head, ref position, out ulong tag)) return fields > 0;
            if (tag > uint.MaxValue) return false;
            int field = (int)(tag >> 3), wireType = (int)(tag & 7);
            bool lengthDelimited = field is 2 or 3 or 4 or 6 or 7 or 8 or 14 or 20 or 25 or 26;
            bool varint = field is 1 or 5;
            if (lengthDelimited ? wireType != 2 : !varint || wireType != 0) return false;
            if (!TryVarint(head, ref position, out ulong value)) return fields > 0;
            if (field == 1 && (value == 0 || value > 100)) return false;
            if (lengthDelimited)
            {
                if (value > (ulong)(fileLength - position)) return false;
                position += (int)Math.Min(value, (ulong)(head.Length - position));
            }
            fields++;
        }
        return fields > 0;
    }

    private static bool TryVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }
}
