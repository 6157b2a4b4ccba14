namespace WeightSpace.Analysis.Connectivity;

/// <summary>Loss and accuracy along θ(α) = (1−α)θ_A + αθ_B, with barrier heights; <c>weightspace lmc --json</c> writes
/// the properties in snake_case (<c>barrier_loss</c>), like every WeightSpace JSON document.</summary>
/// <param name="Alphas">Sampled α, from 0 to 1.</param>
/// <param name="Loss">Mean cross-entropy at each α.</param>
/// <param name="Accuracy">Accuracy at each α.</param>
/// <param name="BarrierLoss">max_α of loss above the chord between the endpoints (<see cref="ConnectivityBarrier.Maximum"/>).</param>
/// <param name="BarrierAccuracy">max_α of accuracy below the chord (<see cref="ConnectivityBarrier.AccuracyMaximum"/>).</param>
/// <param name="BarrierLossMidpoint">Loss barrier at α = 0.5 only.</param>
/// <param name="BarrierAccuracyMidpoint">Accuracy drop at α = 0.5 only.</param>
/// <param name="NormalizationReset">Whether BatchNorm statistics were recomputed at each α.</param>
public sealed record ConnectivityCurve(
    double[] Alphas,
    double[] Loss,
    double[] Accuracy,
    double BarrierLoss,
    double BarrierAccuracy,
    double BarrierLossMidpoint,
    double BarrierAccuracyMidpoint,
    bool NormalizationReset);
