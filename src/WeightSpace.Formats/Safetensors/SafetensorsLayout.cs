namespace WeightSpace.Formats.Safetensors;

/// <summary>Where the writer puts tensors and what its JSON header looks like.</summary>
internal static class SafetensorsLayout
{
    /// <summary>Orders tensors as huggingface/safetensors <c>serialize</c> does: by its <c>Dtype</c> enum descending
    /// (declaration order BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64), then by
    /// name in code-point order. Wide types come first, so every tensor starts aligned to its element size.</summary>
    public static readonly IComparer<TensorInfo> ReferenceOrder = Comparer<TensorInfo>.Create(static (a, b) =>
    {
        int byType = Rank(b.DType).CompareTo(Rank(a.DType));
        return byType != 0 ? byType : CompareCodePoints(a.Name, b.Name);
    });

    private static int Rank(DType dtype) => dtype switch
    {
        DType.Bool => 0,
        DType.U8 => 1,
        DType.I8 => 2,
        DType.F8_E5M2 => 3,
        DType.F8_E4M3 => 4,
        DType.I16 => 5,
        DType.F16 => 7,
        DType.BF16 => 8,
        DType.I32 => 9,
        DType.F32 => 11,
        DType.F64 => 12,
        DType.I64 => 13,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    // Rust and Python order strings by code point; UTF-16 ordinal order differs for characters above U+FFFF.
    private static int CompareCodePoints(string a, string b)
    {
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            bool hasA = ea.MoveNext(), hasB = eb.MoveNext();
            if (!hasA || !hasB) return hasA.CompareTo(hasB);
            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0) return c;
        }
    }

    /// <summary>The header JSON for <paramref name="ordered"/> laid out back to back, padded with spaces to a
    /// multiple of 8 so the byte buffer (at 8 + N) is 8-byte aligned. <c>begins</c> receives each tensor's begin
    /// offset within the byte buffer.</summary>
    public static byte[] BuildHeader(IReadOnlyList<TensorInfo> ordered, IReadOnlyDictionary<string, string>? metadata, out long[] begins)
    {
        var json = new StringBuilder();
        json.Append('{');
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            json.Append("\"__metadata__\":{");
            foreach (var (key, value) in metadata)
            {
                if (!first) json.Append(',');
                first = false;
                AppendString(json, key).Append(':');
                AppendString(json, value);
            }
            json.Append('}');
            first = false;
        }
        begins = new long[ordered.Count];
        long offset = 0;
        for (int i = 0; i < ordered.Count; i++)
        {
            var info = ordered[i];
            if (!first) json.Append(',');
            first = false;
            AppendString(json, info.Name).Append(":{\"dtype\":\"").Append(info.DType.ToSafetensorsName()).Append("\",\"shape\":[");
            json.AppendJoin(',', info.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            long end = checked(offset + info.ByteCount);
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            begins[i] = offset;
            offset = end;
        }
        json.Append('}');
        int length = Encoding.UTF8.GetByteCount(json.ToString());
        json.Append(' ', (8 - length % 8) % 8);
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    /// <summary>Appends a JSON string: quotes, backslashes and control characters escaped, everything else as UTF-8
    /// (what Python's <c>json.dumps(ensure_ascii=False)</c> writes).</summary>
    public static StringBuilder AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                default:
                    if (c < 0x20) json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else json.Append(c);
                    break;
            }
        }
        return json.Append('"');
    }

    /// <summary>Shard file name <c>model-00001-of-00003.safetensors</c> (1-based, five digits as Hugging Face writes).</summary>
    public static string ShardName(int number, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"model-{number:D5}-of-{count:D5}.safetensors");

    /// <summary>Splits <paramref name="plan"/> greedily, in plan order, into shards of at most
    /// <paramref name="shardSizeBytes"/> data bytes; a larger tensor gets a shard to itself.</summary>
    public static List<List<TensorInfo>> Shard(IReadOnlyList<TensorInfo> plan, long shardSizeBytes)
    {
        var shards = new List<List<TensorInfo>>();
        List<TensorInfo>? current = null;
        long size = 0;
        foreach (var info in plan)
        {
            if (current is null || (current.Count > 0 && size + info.ByteCount > shardSizeBytes))
            {
                current = [];
                shards.Add(current);
                size = 0;
            }
            current.Add(info);
            size += info.ByteCount;
        }
        if (shards.Count == 0) shards.Add([]);
        return shards;
    }

    /// <summary>The index JSON: <c>{"metadata":{"total_size":…},"weight_map":{name: shard}}</c>, names sorted, two-space indent.</summary>
    public static byte[] BuildIndex(long totalSize, IEnumerable<(string Name, string Shard)> weightMap)
    {
        var json = new StringBuilder();
        json.Append("{\n  \"metadata\": {\n    \"total_size\": ").Append(totalSize.ToString(CultureInfo.InvariantCulture)).Append("\n  },\n  \"weight_map\": {");
        bool first = true;
        foreach (var (name, shard) in weightMap.OrderBy(e => e.Name, Comparer<string>.Create(CompareCodePoints)))
        {
            json.Append(first ? "\n    " : ",\n    ");
            first = false;
            AppendString(json, name).Append(": ");
            AppendString(json, shard);
        }
        json.Append(first ? "}\n}\n" : "\n  }\n}\n");
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
