using System.Collections;
using System.Collections.Immutable;

namespace WeightSpace;

/// <summary>An immutable tensor shape: dimensions as <see cref="long"/>, outermost first (C order).</summary>
/// <remarks>A rank-0 shape describes a scalar with one element. A shape with a zero dimension has no elements.</remarks>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<long>
{
    private readonly ImmutableArray<long> _dims;
    private readonly long _elementCount;

    /// <summary>Creates a shape after checking every dimension is non-negative and the element count fits a <see cref="long"/>.</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the product overflows.</exception>
    public Shape(params ReadOnlySpan<long> dimensions)
    {
        long count = 1;
        foreach (long d in dimensions)
        {
            if (d < 0) throw new ArgumentException($"Dimension {d} is negative.", nameof(dimensions));
            try { count = checked(count * d); }
            catch (OverflowException) { throw new ArgumentException("The element count overflows a 64-bit integer.", nameof(dimensions)); }
        }
        _dims = ImmutableArray.Create(dimensions);
        _elementCount = count;
    }

    /// <summary>The scalar shape <c>[]</c>.</summary>
    public static Shape Scalar => new(ReadOnlySpan<long>.Empty);

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.IsDefault ? 0 : _dims.Length;

    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public long ElementCount => _dims.IsDefault ? 1 : _elementCount;

    /// <summary>Dimension <paramref name="index"/>; negative indices count from the end.</summary>
    public long this[int index] => _dims[index < 0 ? Rank + index : index];

    /// <summary>Number of dimensions (same as <see cref="Rank"/>).</summary>
    public int Count => Rank;

    /// <summary>The dimensions as an array copy.</summary>
    public long[] ToArray() => _dims.IsDefault ? [] : [.. _dims];

    /// <inheritdoc/>
    public IEnumerator<long> GetEnumerator() => ((IEnumerable<long>)(_dims.IsDefault ? ImmutableArray<long>.Empty : _dims)).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(Shape other) => this.SequenceEqual(other);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (long d in this) h.Add(d);
        return h.ToHashCode();
    }
    /// <summary>Equality of dimensions.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    /// <summary>Inequality of dimensions.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>Formats as <c>[128, 64]</c>.</summary>
    public override string ToString() => "[" + string.Join(", ", this) + "]";
}
