namespace WeightSpace.Tests.Core;

public sealed class ShapeTests
{
    [Fact]
    public void ElementCount_IsTheProductOfTheDimensions()
    {
        var shape = new Shape(3, 4, 5);
        Assert.Equal(3, shape.Rank);
        Assert.Equal(60, shape.ElementCount);
        Assert.Equal(5, shape[-1]);
        Assert.Equal(3, shape[0]);
        Assert.Equal(new long[] { 3, 4, 5 }, shape.ToArray());
    }

    [Fact]
    public void Scalar_AndDefault_HaveRankZeroAndOneElement()
    {
        Assert.Equal(0, Shape.Scalar.Rank);
        Assert.Equal(1, Shape.Scalar.ElementCount);
        Assert.Equal(0, default(Shape).Rank);
        Assert.Equal(1, default(Shape).ElementCount);
        Assert.Empty(default(Shape));
        Assert.Equal(Shape.Scalar, default);
        Assert.Equal("[]", default(Shape).ToString());
    }

    [Fact]
    public void ZeroDimension_MeansNoElements() => Assert.Equal(0, new Shape(7, 0, 3).ElementCount);

    [Fact]
    public void NegativeDimension_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new Shape(2, -1));
        Assert.Contains("-1", e.Message);
    }

    [Fact]
    public void ElementCountOverflowingInt64_Throws()
    {
        // 2^32 · 2^32 = 2^64 does not fit; 2^31 · 2^31 = 2^62 does.
        Assert.Throws<ArgumentException>(() => new Shape(1L << 32, 1L << 32));
        Assert.Equal(1L << 62, new Shape(1L << 31, 1L << 31).ElementCount);
        // A leading zero dimension makes the product 0 whatever follows.
        Assert.Equal(0, new Shape(0, 1L << 40, 1L << 40).ElementCount);
    }

    [Fact]
    public void Equality_IsByDimensions()
    {
        Assert.Equal(new Shape(2, 3), new Shape(2, 3));
        Assert.True(new Shape(2, 3) == new Shape(2, 3));
        Assert.True(new Shape(2, 3) != new Shape(3, 2));
        Assert.NotEqual(new Shape(6), new Shape(2, 3));
        Assert.Equal(new Shape(2, 3).GetHashCode(), new Shape(2, 3).GetHashCode());
        Assert.False(new Shape(2, 3).Equals("[2, 3]"));
        Assert.Equal("[2, 3]", new Shape(2, 3).ToString());
    }

    [Fact]
    public void Constructor_CopiesTheDimensions()
    {
        long[] dims = [4, 4];
        var shape = new Shape(dims);
        dims[0] = 9;
        Assert.Equal(4, shape[0]);
    }
}
