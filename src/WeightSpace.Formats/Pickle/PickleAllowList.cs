using System.Collections.Frozen;

namespace WeightSpace.Formats.Pickle;

/// <summary>The only globals a PyTorch pickle may name. Everything else is refused at GLOBAL/STACK_GLOBAL time.</summary>
/// <remarks>The idea follows mergekit's <c>lazy_unpickle.py</c> (allow-list (module, name) pairs and never import).
/// The set is what <c>torch.save</c> writes for tensors, parameters and state dicts; see docs/formats-pytorch.md.</remarks>
internal static class PickleAllowList
{
    public const string RebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
    public const string RebuildParameter = "torch._utils._rebuild_parameter";
    public const string RebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";
    public const string OrderedDict = "collections.OrderedDict";

    /// <summary>Storage classes named in persistent ids, with the element type of their data.</summary>
    public static readonly FrozenDictionary<string, DType> StorageTypes = new Dictionary<string, DType>
    {
        ["torch.FloatStorage"] = DType.F32,
        ["torch.DoubleStorage"] = DType.F64,
        ["torch.HalfStorage"] = DType.F16,
        ["torch.BFloat16Storage"] = DType.BF16,
        ["torch.LongStorage"] = DType.I64,
        ["torch.IntStorage"] = DType.I32,
        ["torch.ShortStorage"] = DType.I16,
        ["torch.CharStorage"] = DType.I8,
        ["torch.ByteStorage"] = DType.U8,
        ["torch.BoolStorage"] = DType.Bool,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Globals that REDUCE may "call"; each call is interpreted here, never executed.</summary>
    public static readonly FrozenSet<string> Callables = new[]
    {
        RebuildTensorV2, RebuildParameter, RebuildParameterWithState, OrderedDict,
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsAllowed(string fullName) => Callables.Contains(fullName) || StorageTypes.ContainsKey(fullName);
}
