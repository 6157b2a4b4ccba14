using WeightSpace.Analysis.Neurons;

namespace WeightSpace.Tests.Analysis.Neurons;

public sealed class TokenVocabularyTests
{
    [Fact]
    public void TinyLlamaTokenizer_TokenIdIsTheByteValue()
    {
        // shared/data/llm/README.md: "vocab 256 (token id = byte value; tokenizer.json is byte-level BPE with no merges)".
        var vocabulary = TokenVocabulary.Load(SharedData.Require("llm/base/tokenizer.json"));
        Assert.Equal(256, vocabulary.Count);
        for (int b = 0; b < 256; b++) Assert.Equal([(byte)b], vocabulary.TokenBytes(b).ToArray());
    }

    [Theory]
    [InlineData(new byte[] { (byte)'d', (byte)'e', (byte)'f' }, "def")]
    [InlineData(new byte[] { (byte)'\n' }, "\\n")]
    [InlineData(new byte[] { (byte)'\t', (byte)' ' }, "\\t ")]
    [InlineData(new byte[] { (byte)'\\' }, "\\\\")]
    [InlineData(new byte[] { 0x00 }, "\\x00")]
    [InlineData(new byte[] { 0x7f }, "\\x7f")]
    [InlineData(new byte[] { 0xe2 }, "\\xe2")]
    [InlineData(new byte[] { 0xc3, 0xa9 }, "é")]
    [InlineData(new byte[] { 0xe2, 0x82 }, "\\xe2\\x82")]
    public void Escape_ShowsBytesReadably(byte[] bytes, string expected) => Assert.Equal(expected, TokenVocabulary.Escape(bytes));

    [Fact]
    public void Display_OutOfRange_IsHashId() => Assert.Equal("#300", TokenVocabulary.Bytes().Display(300));
}
