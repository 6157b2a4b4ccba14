namespace WeightSpace.Analysis.Connectivity;

/// <summary>The grid of a loss plane through θ_A, θ_B, θ_C (Garipov et al., NeurIPS 2018, section 4): u along θ_B − θ_A,
/// v along the part of θ_C − θ_A orthogonal to it, in weight-space L2 units, θ_A at the origin; each grid point as the
/// weights (w_A, w_B, w_C) of θ = w_A·θ_A + w_B·θ_B + w_C·θ_C. Shared by the classifier and the language-model planes.</summary>
public sealed class PlaneGrid
{
    private readonly double _normU, _cu, _cvNorm;

    private PlaneGrid(double[] x, double[] y, double[] modelX, double[] modelY, double normU, double cu, double cvNorm)
    {
        (X, Y, ModelX, ModelY) = (x, y, modelX, modelY);
        (_normU, _cu, _cvNorm) = (normU, cu, cvNorm);
    }

    /// <summary>Grid coordinates along u.</summary>
    public double[] X { get; }
    /// <summary>Grid coordinates along v.</summary>
    public double[] Y { get; }
    /// <summary>u coordinates of θ_A, θ_B, θ_C.</summary>
    public double[] ModelX { get; }
    /// <summary>v coordinates of θ_A, θ_B, θ_C.</summary>
    public double[] ModelY { get; }

    /// <summary>Gram–Schmidt from the three inner products of the differences, then a
    /// <paramref name="resolution"/>² grid extending <paramref name="margin"/> (a fraction of the span) beyond the models.</summary>
    /// <param name="bb">⟨θ_B − θ_A, θ_B − θ_A⟩.</param>
    /// <param name="cc">⟨θ_C − θ_A, θ_C − θ_A⟩.</param>
    /// <param name="bc">⟨θ_B − θ_A, θ_C − θ_A⟩.</param>
    /// <param name="resolution">Points per side (≥ 2).</param>
    /// <param name="margin">Padding beyond the models, as a fraction of their span.</param>
    /// <exception cref="WeightSpaceException">The three points are (nearly) collinear.</exception>
    public static PlaneGrid Create(double bb, double cc, double bc, int resolution, double margin)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 2);
        double normU = Math.Sqrt(bb);
        double cu = normU == 0 ? 0 : bc / normU;
        double cv2 = cc - cu * cu;
        if (normU == 0 || cv2 <= 1e-12 * cc) throw new WeightSpaceException("θ_A, θ_B and θ_C are (nearly) collinear; they span no plane");
        double cvNorm = Math.Sqrt(cv2);
        double[] mx = [0, normU, cu], my = [0, 0, cvNorm];
        double x0 = mx.Min(), x1 = mx.Max(), y0 = my.Min(), y1 = my.Max();
        double padX = margin * (x1 - x0), padY = margin * (y1 - y0);
        return new PlaneGrid(Linspace(x0 - padX, x1 + padX, resolution), Linspace(y0 - padY, y1 + padY, resolution), mx, my, normU, cu, cvNorm);
    }

    /// <summary>θ at (X[i], Y[j]) = A + x·u + y·v with u = (B−A)/|B−A| and v = ((C−A) − c_u·u)/|…|, as weights on A, B, C.</summary>
    public (double A, double B, double C) Weights(int i, int j)
    {
        double wc = Y[j] / _cvNorm;
        double wb = X[i] / _normU - wc * _cu / _normU;
        return (1 - wb - wc, wb, wc);
    }

    private static double[] Linspace(double from, double to, int count)
    {
        var r = new double[count];
        for (int i = 0; i < count; i++) r[i] = i == count - 1 ? to : from + (to - from) * i / (count - 1);
        return r;
    }
}
