using System.Text;

namespace WeightSpace.Cli;

/// <summary>A write-only stream that forwards UTF-8 bytes to a <see cref="TextWriter"/>, so JSON writers can target
/// whatever stdout the command line was given (the console, or a StringWriter in tests).</summary>
internal sealed class StreamWriterStream(TextWriter writer) : Stream
{
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => writer.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Span<char> chars = stackalloc char[1024];
        while (!buffer.IsEmpty)
        {
            _decoder.Convert(buffer, chars, flush: false, out int used, out int produced, out _);
            writer.Write(chars[..produced]);
            buffer = buffer[used..];
        }
    }
}
