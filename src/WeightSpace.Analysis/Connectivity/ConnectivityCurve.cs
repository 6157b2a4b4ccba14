using System.Text.Json.Serialization;

namespace WeightSpace.Analysis.Connectivity;

/// <summary>Loss and accuracy along θ(α) = (1−α)θ_A + αθ_B, with barrier heights; property names serialise to the
/// snake_case JSON of <c>weightspace lmc --json</c>.</summary>
/// <param name="Alphas">Sampled α, from 0 to 1.</param>
/// <param name="Loss">Mean cross-entropy at each α.</param>
/// <param name="Accuracy">Accuracy at each α.</param>
/// <param name="BarrierLoss">max_α of loss above the chord between the endpoints (<see cref="ConnectivityBarrier.Maximum"/>).</param>
/// <param name="BarrierAccuracy">max_α of accuracy below the chord (<see cref="ConnectivityBarrier.AccuracyMaximum"/>).</param>
/// <param name="BarrierLossMidpoint">Loss barrier at α = 0.5 only.</param>
/// <param name="BarrierAccuracyMidpoint">Accuracy drop at α = 0.5 only.</param>
/// <param name="NormalizationReset">Whether BatchNorm statistics were recomputed at each α.</param>
public sealed record ConnectivityCurve(
    [property: JsonPropertyName("alphas")] double[] Alphas,
    [property: JsonPropertyName("loss")] double[] Loss,
    [property: JsonPropertyName("accuracy")] double[] Accuracy,
    [property: JsonPropertyName("barrier_loss")] double BarrierLoss,
    [property: JsonPropertyName("barrier_accuracy")] double BarrierAccuracy,
    [property: JsonPropertyName("barrier_loss_midpoint")] double BarrierLossMidpoint,
    [property: JsonPropertyName("barrier_accuracy_midpoint")] double BarrierAccuracyMidpoint,
    [property: JsonPropertyName("normalization_reset")] bool NormalizationReset);
