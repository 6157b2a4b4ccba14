using System.Text.Json;

namespace WeightSpace.Cli;

/// <summary>Writes one JSON document to the command's stdout (the console, or a StringWriter in tests), with the
/// shared <see cref="JsonPolicy"/>, followed by a newline.</summary>
internal static class JsonStdout
{
    /// <summary>Hands <paramref name="write"/> a stream onto stdout; for report writers that take a <see cref="Stream"/>.</summary>
    public static void Write(CliContext context, Action<Stream> write)
    {
        context.Out.Flush();
        using var stdout = new StreamWriterStream(context.Out);
        write(stdout);
        stdout.Flush();
    }

    /// <summary>Writes one JSON object whose properties <paramref name="properties"/> adds.</summary>
    public static void WriteObject(CliContext context, Action<Utf8JsonWriter> properties) => Write(context, stream =>
    {
        using (var writer = new Utf8JsonWriter(stream, JsonPolicy.WriterOptions))
        {
            writer.WriteStartObject();
            properties(writer);
            writer.WriteEndObject();
        }
        stream.Write("\n"u8);
    });
}
