using System.Buffers.Binary;
using System.Text;

namespace WeightSpace.Tests.Formats.Safetensors;

/// <summary>Hand-builds safetensors files (any header text, any buffer) for tests of hostile input.</summary>
internal static class SafetensorsFiles
{
    /// <summary>Writes <c>u64 len(header) | header | data</c> to <paramref name="name"/> in <paramref name="folder"/>.</summary>
    public static string Write(string folder, string name, string header, byte[]? data = null, ulong? declaredLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        return WriteRaw(folder, name, json, data ?? [], declaredLength ?? (ulong)json.Length);
    }

    public static string WriteRaw(string folder, string name, byte[] header, byte[] data, ulong declaredLength)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Header entry text <c>"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]}</c>.</summary>
    public static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{shape}],\"data_offsets\":[{begin},{end}]}}";
}
