using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace WeightSpace.Analysis.Lora;

/// <summary>Truncated SVDs of a float64 matrix: exact (LAPACK through libtorch) or randomized.</summary>
internal static class LowRank
{
    /// <summary>The leading <paramref name="rank"/> singular triplets by the randomized range finder with power
    /// iterations (Halko, Martinsson and Tropp 2011, <see href="https://arxiv.org/abs/0909.4061"/>, Algorithms 4.4 and
    /// 5.1): Y = (AAᵀ)^q AΩ with Ω Gaussian [n, rank + oversample], re-orthonormalised by QR after every product, then
    /// the exact SVD of the small QᵀA.</summary>
    public static (Tensor U, Tensor S, Tensor Vh) Randomized(Tensor a, int rank, int oversample, int powerIterations, long seed)
    {
        long m = a.shape[0], n = a.shape[1];
        int k = (int)Math.Min(rank + oversample, Math.Min(m, n));
        var generator = new Generator((ulong)seed);
        var omega = torch.randn([n, k], dtype: a.dtype, generator: generator);
        var (q, _) = linalg.qr(a.matmul(omega));
        for (int i = 0; i < powerIterations; i++)
        {
            var (z, _) = linalg.qr(a.mT.matmul(q));
            (q, _) = linalg.qr(a.matmul(z));
        }
        var (ub, s, vh) = linalg.svd(q.mT.matmul(a), fullMatrices: false);
        var u = q.matmul(ub);
        return (u[.., ..rank], s[..rank], vh[..rank, ..]);
    }

    /// <summary>The exact thin SVD, truncated to <paramref name="rank"/>.</summary>
    public static (Tensor U, Tensor S, Tensor Vh) Exact(Tensor a, int rank)
    {
        var (u, s, vh) = linalg.svd(a, fullMatrices: false);
        return (u[.., ..rank], s[..rank], vh[..rank, ..]);
    }

    /// <summary>Singular values of B·A for B [m, r], A [r, n] without forming it: QR of B and Aᵀ, then the r×r core
    /// R_B·R_Aᵀ (its left singular vectors are Q_B times the core's).</summary>
    public static (Tensor U, Tensor S) OfProduct(Tensor b, Tensor a)
    {
        var (qb, rb) = linalg.qr(b);
        var (_, ra) = linalg.qr(a.mT);
        var (uc, s, _) = linalg.svd(rb.matmul(ra.mT), fullMatrices: false);
        return (qb.matmul(uc), s);
    }
}
