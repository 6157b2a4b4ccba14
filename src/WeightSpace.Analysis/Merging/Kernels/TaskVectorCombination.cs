using System.Numerics;
using System.Runtime.CompilerServices;

namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>The element-wise last step of generalized task arithmetic: θ₀ plus either the TIES combination of the
/// (trimmed) task vectors — sign election and disjoint mean, Yadav et al. 2023 §3 steps 2–3 — or their weighted sum.
/// One definition for the in-place path and the streaming kernel, a vector at a time and per element with identical
/// results per lane.</summary>
/// <param name="Consensus">TIES election (else a plain weighted sum).</param>
/// <param name="PaperVote">TIES votes on unweighted τ and a zero vote elects nothing (paper); else mergekit's weighted
/// vote, where a zero sum elects +.</param>
/// <param name="Normalize">TIES: divide by the sum of the agreeing weights.</param>
/// <param name="Lambda">TIES: scale of the combined τ.</param>
/// <param name="Weights">Per model: the TIES weight, or for the plain sum the final coefficient (weight × scale).</param>
internal sealed record TaskVectorCombination(bool Consensus, bool PaperVote, bool Normalize, float Lambda, float[] Weights)
{
    /// <summary>θ₀ + combination of <paramref name="kept"/> (one vector per model; dropped entries are +0).</summary>
    /// <param name="b">θ₀.</param>
    /// <param name="kept">The models' trimmed τ.</param>
    /// <param name="weights"><see cref="Weights"/> broadcast, one vector per model.</param>
    /// <param name="m">Number of models.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // called per vector from the kernels' hot loops: inlined, ~10% faster there
    public unsafe Vector<float> Apply(Vector<float> b, Vector<float>* kept, Vector<float>* weights, int m)
    {
        if (!Consensus)
        {
            var r = b;
            for (int i = 0; i < m; i++) r = kept[i] * weights[i] + r;
            return r;
        }
        // Selects rather than branches: signs of real task vectors are close to random, so a branchy loop mispredicts
        // on every other entry (measured 5× slower).
        var one = Vector<float>.One;
        var zero = Vector<float>.Zero;
        var vote = zero;
        for (int i = 0; i < m; i++) vote += PaperVote ? kept[i] : kept[i] * weights[i];
        var elected = PaperVote
            ? Vector.ConditionalSelect(Vector.GreaterThan(vote, zero), one, Vector.ConditionalSelect(Vector.LessThan(vote, zero), -one, zero))
            : Vector.ConditionalSelect(Vector.LessThan(vote, zero), -one, one);
        var sum = zero;
        var weightSum = zero;
        for (int i = 0; i < m; i++)
        {
            var t = kept[i];
            var w = weights[i];
            var voted = PaperVote ? t : t * w;
            var agree = Vector.GreaterThan(voted * elected, zero);
            sum += Vector.ConditionalSelect(agree, t * w, zero);
            weightSum += Vector.ConditionalSelect(agree, w, zero);
        }
        weightSum = Vector.ConditionalSelect(Vector.Equals(weightSum, zero), one, weightSum);
        var mixed = Normalize ? sum / weightSum : sum;
        return b + mixed * new Vector<float>(Lambda);
    }

    /// <summary>The same for one element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe float Apply(float b, float* kept, int m)
    {
        if (!Consensus)
        {
            float r = b;
            for (int i = 0; i < m; i++) r = kept[i] * Weights[i] + r;
            return r;
        }
        float vote = 0;
        for (int i = 0; i < m; i++) vote += PaperVote ? kept[i] : kept[i] * Weights[i];
        float elected = PaperVote ? (vote > 0 ? 1f : vote < 0 ? -1f : 0f) : (vote < 0 ? -1f : 1f);
        float sum = 0, weightSum = 0;
        for (int i = 0; i < m; i++)
        {
            float t = kept[i], w = Weights[i], voted = PaperVote ? t : t * w;
            bool agree = voted * elected > 0;
            sum += agree ? t * w : 0f;
            weightSum += agree ? w : 0f;
        }
        if (weightSum == 0) weightSum = 1;
        float mixed = Normalize ? sum / weightSum : sum;
        return b + mixed * Lambda;
    }

    /// <summary>Fills <paramref name="weights"/> (m vectors) with <see cref="Weights"/> broadcast.</summary>
    public unsafe void Broadcast(Vector<float>* weights)
    {
        for (int i = 0; i < Weights.Length; i++) weights[i] = new Vector<float>(Weights[i]);
    }
}
