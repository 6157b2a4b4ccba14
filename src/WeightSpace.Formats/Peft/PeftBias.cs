namespace WeightSpace.Formats.Peft;

/// <summary>PEFT's <c>bias</c> setting: which biases were trained (and saved) with the adapter.</summary>
public enum PeftBias
{
    /// <summary><c>none</c>: no bias is trained.</summary>
    None,
    /// <summary><c>all</c>: every bias of the model is trained and saved.</summary>
    All,
    /// <summary><c>lora_only</c>: the biases of the LoRA-wrapped modules are trained and saved.</summary>
    LoraOnly,
}
