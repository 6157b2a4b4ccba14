using System.Numerics;

namespace WeightSpace.Formats.Pickle;

/// <summary>Reads one pickle (protocols 0–5) into inert values, interpreting the few allow-listed torch callables
/// and refusing everything else. Nothing is imported and nothing is called.</summary>
/// <remarks>
/// The machine is iterative (an explicit stack, no recursion), so a deeply nested pickle cannot overflow the call
/// stack; nesting depth is limited later, when the object tree is walked. Every length read from the stream is checked
/// against the bytes that remain before anything is sliced or allocated. One instance reads one pickle.
/// </remarks>
internal sealed class RestrictedUnpickler
{
    /// <summary>Resolves a persistent id (a torch storage reference) found at <paramref name="fileOffset"/>.</summary>
    public delegate TorchStorage PersistentLoader(object? persistentId, long fileOffset);

    private readonly string _path;
    private readonly UnpicklerLimits _options;
    private readonly PersistentLoader? _persistentLoad;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private long _fileOffset;
    private bool _cutByLimit;

    public RestrictedUnpickler(string path, UnpicklerLimits options, PersistentLoader? persistentLoad)
    {
        _path = path;
        _options = options;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Highest protocol named by a PROTO opcode (0 if none).</summary>
    public int Protocol { get; private set; }

    /// <summary>Bytes consumed up to and including STOP.</summary>
    public int BytesConsumed { get; private set; }

    /// <summary>Runs the pickle in <paramref name="data"/> (which starts at <paramref name="fileOffset"/> of the file)
    /// up to STOP and returns the value it leaves. <paramref name="cutByLimit"/> says the span was shortened to
    /// <see cref="UnpicklerLimits.MaxPickleBytes"/>, so running off its end is reported as a limit, not a truncation.</summary>
    public object? Load(ReadOnlySpan<byte> data, long fileOffset, bool cutByLimit)
    {
        _fileOffset = fileOffset;
        _cutByLimit = cutByLimit;
        int pos = 0;
        while (true)
        {
            int at = pos;
            byte op = TakeByte(data, ref pos);
            switch (op)
            {
                case 0x80: // PROTO
                {
                    int protocol = TakeByte(data, ref pos);
                    if (protocol > 5) throw Bad(at, $"pickle protocol {protocol} is newer than 5");
                    Protocol = Math.Max(Protocol, protocol);
                    break;
                }
                case 0x95: // FRAME: framing is advisory; opcodes simply continue, but the frame must fit.
                {
                    ulong frame = BinaryPrimitives.ReadUInt64LittleEndian(Take(data, ref pos, 8));
                    if (frame > (ulong)(data.Length - pos)) throw Short(pos, (long)Math.Min(frame, long.MaxValue));
                    break;
                }
                case 0x2e: // STOP
                {
                    object? result = Pop(at);
                    BytesConsumed = pos;
                    return result;
                }
                case 0x28: _marks.Add(_stack.Count); break; // MARK
                case 0x30: // POP: like CPython, an empty stack above a mark pops the mark
                    if (_stack.Count > MarkBase) _stack.RemoveAt(_stack.Count - 1);
                    else PopMark(at);
                    break;
                case 0x31: PopMark(at); break; // POP_MARK
                case 0x32: Push(Peek(at)); break; // DUP

                case 0x4e: Push(PyNone.Value); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case 0x4a: Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4))); break; // BININT
                case 0x4b: Push((long)TakeByte(data, ref pos)); break; // BININT1
                case 0x4d: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(data, ref pos, 2))); break; // BININT2
                case 0x8a: Push(LittleEndianInt(Take(data, ref pos, TakeByte(data, ref pos)))); break; // LONG1
                case 0x8b: // LONG4
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4));
                    if (n < 0) throw Bad(at, $"LONG4 length {n} is negative");
                    if (n > 1024) throw Bad(at, $"LONG4 integer of {n} bytes is larger than any torch value");
                    Push(LittleEndianInt(Take(data, ref pos, n)));
                    break;
                }
                case 0x49: Push(ParseIntLine(TakeLine(data, ref pos), at)); break; // INT
                case 0x4c: Push(ParseLongLine(TakeLine(data, ref pos), at)); break; // LONG
                case 0x47: Push(BinaryPrimitives.ReadDoubleBigEndian(Take(data, ref pos, 8))); break; // BINFLOAT
                case 0x46: Push(ParseFloatLine(TakeLine(data, ref pos), at)); break; // FLOAT

                case 0x58: Push(Utf8(Take(data, ref pos, BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4))))); break; // BINUNICODE
                case 0x8c: Push(Utf8(Take(data, ref pos, TakeByte(data, ref pos)))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Take(data, ref pos, Length64(data, ref pos, at)))); break; // BINUNICODE8
                case 0x56: Push(RawUnicodeEscape(TakeLine(data, ref pos))); break; // UNICODE
                case 0x53: Push(QuotedString(TakeLine(data, ref pos), at)); break; // STRING
                // Python 2 str: torch.load decodes these as UTF-8 by default, and so do we.
                case 0x54: // BINSTRING
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4));
                    if (n < 0) throw Bad(at, $"BINSTRING length {n} is negative");
                    Push(Utf8(Take(data, ref pos, n)));
                    break;
                }
                case 0x55: Push(Utf8(Take(data, ref pos, TakeByte(data, ref pos)))); break; // SHORT_BINSTRING
                case 0x42: Push(Take(data, ref pos, BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4))).ToArray()); break; // BINBYTES
                case 0x43: Push(Take(data, ref pos, TakeByte(data, ref pos)).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: // BINBYTES8
                case 0x96: // BYTEARRAY8
                    Push(Take(data, ref pos, Length64(data, ref pos, at)).ToArray());
                    break;
                case 0x97: throw Bad(at, "NEXT_BUFFER needs out-of-band buffers, which torch.save never writes");
                case 0x98: Peek(at); break; // READONLY_BUFFER: marks the top buffer read-only; ours already are

                case 0x7d: Push(new PyDict(false)); break; // EMPTY_DICT
                case 0x5d: Push(new PyList()); break; // EMPTY_LIST
                case 0x29: Push(PyTuple.Empty); break; // EMPTY_TUPLE
                case 0x8f: Push(new PySet(false)); break; // EMPTY_SET
                case 0x74: Push(new PyTuple(PopMark(at))); break; // TUPLE
                case 0x85: Push(new PyTuple([Pop(at)])); break; // TUPLE1
                case 0x86: { object? b = Pop(at), a = Pop(at); Push(new PyTuple([a, b])); break; } // TUPLE2
                case 0x87: { object? c = Pop(at), b = Pop(at), a = Pop(at); Push(new PyTuple([a, b, c])); break; } // TUPLE3
                case 0x6c: // LIST
                {
                    var list = new PyList();
                    list.Items.AddRange(PopMark(at));
                    CheckItems(list.Items.Count, at);
                    Push(list);
                    break;
                }
                case 0x61: // APPEND
                {
                    object? value = Pop(at);
                    var list = Target<PyList>(at, "APPEND");
                    list.Items.Add(value);
                    CheckItems(list.Items.Count, at);
                    break;
                }
                case 0x65: // APPENDS
                {
                    object?[] values = PopMark(at);
                    var list = Target<PyList>(at, "APPENDS");
                    list.Items.AddRange(values);
                    CheckItems(list.Items.Count, at);
                    break;
                }
                case 0x64: // DICT
                {
                    var dict = new PyDict(false);
                    SetItems(dict, PopMark(at), at);
                    Push(dict);
                    break;
                }
                case 0x73: // SETITEM
                {
                    object? value = Pop(at), key = Pop(at);
                    var dict = Target<PyDict>(at, "SETITEM");
                    dict.Set(key, value);
                    CheckItems(dict.Items.Count, at);
                    break;
                }
                case 0x75: // SETITEMS
                {
                    object?[] pairs = PopMark(at);
                    SetItems(Target<PyDict>(at, "SETITEMS"), pairs, at);
                    break;
                }
                case 0x90: // ADDITEMS
                {
                    object?[] values = PopMark(at);
                    var set = Target<PySet>(at, "ADDITEMS");
                    if (set.Frozen) throw Bad(at, "ADDITEMS on a frozenset");
                    set.Items.AddRange(values);
                    CheckItems(set.Items.Count, at);
                    break;
                }
                case 0x91: // FROZENSET
                {
                    var set = new PySet(true);
                    set.Items.AddRange(PopMark(at));
                    CheckItems(set.Items.Count, at);
                    Push(set);
                    break;
                }

                case 0x67: Push(MemoGet(ParseMemoIndex(TakeLine(data, ref pos), at), at)); break; // GET
                case 0x68: Push(MemoGet(TakeByte(data, ref pos), at)); break; // BINGET
                case 0x6a: Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4)), at)); break; // LONG_BINGET
                case 0x70: MemoPut(ParseMemoIndex(TakeLine(data, ref pos), at), at); break; // PUT
                case 0x71: MemoPut(TakeByte(data, ref pos), at); break; // BINPUT
                case 0x72: MemoPut(BinaryPrimitives.ReadUInt32LittleEndian(Take(data, ref pos, 4)), at); break; // LONG_BINPUT
                case 0x94: MemoPut(_memo.Count, at); break; // MEMOIZE

                case 0x63: // GLOBAL
                {
                    string module = Ascii(TakeLine(data, ref pos));
                    string name = Ascii(TakeLine(data, ref pos));
                    Push(Global(module, name, at));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    object? name = Pop(at), module = Pop(at);
                    if (module is not string m || name is not string n) throw Bad(at, "STACK_GLOBAL needs two strings");
                    Push(Global(m, n, at));
                    break;
                }
                case 0x69: // INST: imports and calls in one opcode; never allowed
                {
                    string module = Ascii(TakeLine(data, ref pos));
                    string name = Ascii(TakeLine(data, ref pos));
                    throw Unsafe(module + "." + name, at, "INST would import and instantiate it");
                }
                case 0x6f: // OBJ
                {
                    object?[] items = PopMark(at);
                    if (items.Length > 0 && items[0] is PyGlobal g) throw Unsafe(g.FullName, at, "OBJ would instantiate it");
                    throw Bad(at, "OBJ without a class");
                }
                case 0x82: throw Unsafe($"copyreg extension {TakeByte(data, ref pos)}", at, "EXT1 would import from the extension registry");
                case 0x83: throw Unsafe($"copyreg extension {BinaryPrimitives.ReadUInt16LittleEndian(Take(data, ref pos, 2))}", at, "EXT2 would import from the extension registry");
                case 0x84: throw Unsafe($"copyreg extension {BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4))}", at, "EXT4 would import from the extension registry");

                case 0x52: // REDUCE
                {
                    object? args = Pop(at), callable = Pop(at);
                    Push(Reduce(callable, args, at));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    object? args = Pop(at), cls = Pop(at);
                    Push(NewObject(cls, args, at));
                    break;
                }
                case 0x92: // NEWOBJ_EX
                {
                    object? kwargs = Pop(at), args = Pop(at), cls = Pop(at);
                    if (kwargs is not PyDict { Items.Count: 0 }) throw Bad(at, "NEWOBJ_EX with keyword arguments");
                    Push(NewObject(cls, args, at));
                    break;
                }
                case 0x62: Build(Pop(at), at); break; // BUILD

                case 0x50: Push(Persistent(Ascii(TakeLine(data, ref pos)), at)); break; // PERSID
                case 0x51: Push(Persistent(Pop(at), at)); break; // BINPERSID

                default:
                    throw Bad(at, $"unknown or unsupported opcode 0x{op:x2}");
            }
        }
    }

    // ---- stack, marks, memo ----

    private int MarkBase => _marks.Count == 0 ? 0 : _marks[^1];

    private void Push(object? value) => _stack.Add(value);

    private object? Pop(int at)
    {
        if (_stack.Count <= MarkBase) throw Bad(at, "stack underflow");
        object? value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek(int at)
    {
        if (_stack.Count <= MarkBase) throw Bad(at, "stack underflow");
        return _stack[^1];
    }

    private object?[] PopMark(int at)
    {
        if (_marks.Count == 0) throw Bad(at, "no MARK to pop to");
        int start = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        object?[] items = _stack.GetRange(start, _stack.Count - start).ToArray();
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private T Target<T>(int at, string opcode) where T : class =>
        Peek(at) as T ?? throw Bad(at, $"{opcode} on a {TypeName(_stack[^1])}, not a {typeof(T).Name[2..].ToLowerInvariant()}");

    private object? MemoGet(long index, int at) =>
        _memo.TryGetValue(index, out object? value) ? value : throw Bad(at, $"memo miss: index {index} was never stored");

    private void MemoPut(long index, int at)
    {
        object? value = Peek(at);
        if (!_memo.ContainsKey(index) && _memo.Count >= _options.MaxMemoEntries)
            throw Bad(at, $"more than MaxMemoEntries ({_options.MaxMemoEntries}) memo entries");
        _memo[index] = value;
    }

    private void CheckItems(long count, int at)
    {
        if (count > _options.MaxContainerItems)
            throw Bad(at, $"a container holds more than MaxContainerItems ({_options.MaxContainerItems}) items");
    }

    private void SetItems(PyDict dict, object?[] pairs, int at)
    {
        if (pairs.Length % 2 != 0) throw Bad(at, "odd number of items for a dict");
        for (int i = 0; i < pairs.Length; i += 2) dict.Set(pairs[i], pairs[i + 1]);
        CheckItems(dict.Items.Count, at);
    }

    // ---- globals and the interpreted callables ----

    private PyGlobal Global(string module, string name, int at)
    {
        string full = module + "." + name;
        if (!PickleAllowList.IsAllowed(full))
            throw Unsafe(full, at, "not on the allow-list; nothing was imported or called");
        return new PyGlobal(module, name);
    }

    private object Reduce(object? callable, object? args, int at)
    {
        if (callable is not PyGlobal g) throw Bad(at, $"REDUCE on a {TypeName(callable)}, which is not callable");
        if (args is not PyTuple tuple) throw Bad(at, $"REDUCE of {g.FullName} with {TypeName(args)} arguments");
        object?[] a = tuple.Items;
        switch (g.FullName)
        {
            case PickleAllowList.RebuildTensorV2:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length is not (6 or 7)) throw Bad(at, $"{g.FullName} takes 6 or 7 arguments, got {a.Length}");
                if (a[0] is not TorchStorage storage) throw Bad(at, $"{g.FullName}: first argument is a {TypeName(a[0])}, not a storage");
                return new TorchTensor(storage, Int64(a[1], at, "storage_offset"), Int64Tuple(a[2], at, "size"),
                    Int64Tuple(a[3], at, "stride"), _fileOffset + at);
            case PickleAllowList.RebuildParameter:
            case PickleAllowList.RebuildParameterWithState:
            {
                int expected = g.FullName == PickleAllowList.RebuildParameter ? 3 : 4;
                if (a.Length != expected) throw Bad(at, $"{g.FullName} takes {expected} arguments, got {a.Length}");
                if (a[0] is not TorchTensor tensor) throw Bad(at, $"{g.FullName}: data is a {TypeName(a[0])}, not a tensor");
                tensor.IsParameter = true;
                return tensor;
            }
            case PickleAllowList.OrderedDict:
            {
                var dict = new PyDict(true);
                if (a.Length == 0) return dict;
                if (a.Length != 1) throw Bad(at, $"{g.FullName} takes at most 1 argument, got {a.Length}");
                IEnumerable<object?> pairs = a[0] switch
                {
                    PyList l => l.Items,
                    PyTuple t => t.Items,
                    _ => throw Bad(at, $"{g.FullName} of a {TypeName(a[0])}"),
                };
                foreach (object? pair in pairs)
                {
                    if (pair is not PyTuple { Items.Length: 2 } kv) throw Bad(at, $"{g.FullName} item is not a (key, value) pair");
                    dict.Set(kv.Items[0], kv.Items[1]);
                }
                CheckItems(dict.Items.Count, at);
                return dict;
            }
            default:
                throw Unsafe(g.FullName, at, "REDUCE would call it, and it is not a callable the reader interprets");
        }
    }

    private object NewObject(object? cls, object? args, int at)
    {
        if (cls is not PyGlobal g) throw Bad(at, $"NEWOBJ on a {TypeName(cls)}");
        if (g.FullName != PickleAllowList.OrderedDict) throw Unsafe(g.FullName, at, "NEWOBJ would instantiate it");
        if (args is not PyTuple) throw Bad(at, "NEWOBJ arguments are not a tuple");
        return new PyDict(true);
    }

    private void Build(object? state, int at)
    {
        object? target = Peek(at);
        switch (target)
        {
            case PyDict dict:
                // OrderedDict.__reduce__ gives (state, None) or a plain state dict: its instance attributes.
                foreach (object? part in state is PyTuple { Items.Length: 2 } t ? t.Items : [state])
                {
                    if (part is PyNone) continue;
                    if (part is not PyDict attrs) throw Bad(at, $"BUILD of a dict with {TypeName(part)} state");
                    dict.Attributes ??= new PyDict(false);
                    foreach (var kv in attrs.Items) dict.Attributes.Set(kv.Key, kv.Value);
                }
                break;
            case TorchTensor:
                // A tensor or Parameter's Python attributes (__dict__): data only, and none of it is a weight.
                break;
            default:
                throw Bad(at, $"BUILD on a {TypeName(target)}");
        }
    }

    private TorchStorage Persistent(object? pid, int at)
    {
        if (_persistentLoad is null) throw Bad(at, "persistent id in a pickle that may not reference storages");
        return _persistentLoad(pid, _fileOffset + at);
    }

    private long Int64(object? value, int at, string what) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw Bad(at, $"{what} is a {TypeName(value)}, not a 64-bit integer"),
    };

    private long[] Int64Tuple(object? value, int at, string what)
    {
        if (value is not PyTuple t) throw Bad(at, $"{what} is a {TypeName(value)}, not a tuple");
        if (t.Items.Length > 64) throw Bad(at, $"{what} has {t.Items.Length} dimensions; torch allows 64");
        var result = new long[t.Items.Length];
        for (int i = 0; i < result.Length; i++) result[i] = Int64(t.Items[i], at, what);
        return result;
    }

    // ---- byte-level reads ----

    private byte TakeByte(ReadOnlySpan<byte> data, ref int pos)
    {
        if (pos >= data.Length) throw Short(pos, 1);
        return data[pos++];
    }

    private ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, ref int pos, long count)
    {
        if (count < 0 || count > data.Length - pos) throw Short(pos, count);
        var slice = data.Slice(pos, (int)count);
        pos += (int)count;
        return slice;
    }

    private long Length64(ReadOnlySpan<byte> data, ref int pos, int at)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Take(data, ref pos, 8));
        if (n > int.MaxValue) throw Bad(at, $"length {n} exceeds the pickle");
        return (long)n;
    }

    private ReadOnlySpan<byte> TakeLine(ReadOnlySpan<byte> data, ref int pos)
    {
        int newline = data[pos..].IndexOf((byte)'\n');
        if (newline < 0) throw Short(data.Length, 1);
        var line = data.Slice(pos, newline);
        pos += newline + 1;
        return line;
    }

    private static object LittleEndianInt(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return 0L;
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private object ParseIntLine(ReadOnlySpan<byte> line, int at)
    {
        string text = Ascii(line);
        if (text == "00") return false;
        if (text == "01") return true;
        return ParseInteger(text, at);
    }

    private object ParseLongLine(ReadOnlySpan<byte> line, int at)
    {
        string text = Ascii(line);
        return ParseInteger(text.EndsWith('L') ? text[..^1] : text, at);
    }

    private object ParseInteger(string text, int at)
    {
        if (text.Length > 1024 || !BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw Bad(at, $"'{Clip(text)}' is not an integer");
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private double ParseFloatLine(ReadOnlySpan<byte> line, int at)
    {
        string text = Ascii(line);
        switch (text)
        {
            case "nan": return double.NaN;
            case "inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw Bad(at, $"'{Clip(text)}' is not a float");
    }

    private long ParseMemoIndex(ReadOnlySpan<byte> line, int at)
    {
        string text = Ascii(line);
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long index) ? index : throw Bad(at, $"'{Clip(text)}' is not a memo index");
    }

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static string Ascii(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Protocol 0 UNICODE: Latin-1 bytes with <c>\uXXXX</c> and <c>\UXXXXXXXX</c> escapes.</summary>
    private static string RawUnicodeEscape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        for (int i = 0; i < bytes.Length; i++)
        {
            int digits = bytes[i] == '\\' && i + 1 < bytes.Length ? bytes[i + 1] switch { (byte)'u' => 4, (byte)'U' => 8, _ => 0 } : 0;
            if (digits > 0 && i + 2 + digits <= bytes.Length
                && int.TryParse(Encoding.ASCII.GetString(bytes.Slice(i + 2, digits)), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code)
                && code is >= 0 and <= 0x10FFFF)
            {
                if (code <= 0xFFFF) sb.Append((char)code);
                else sb.Append(char.ConvertFromUtf32(code is >= 0xD800 and <= 0xDFFF ? 0xFFFD : code));
                i += 1 + digits;
            }
            else sb.Append((char)bytes[i]);
        }
        return sb.ToString();
    }

    /// <summary>Protocol 0 STRING: a quoted Python 2 literal; the common escapes are decoded.</summary>
    private string QuotedString(ReadOnlySpan<byte> line, int at)
    {
        if (line.Length < 2 || line[0] != line[^1] || (line[0] != '\'' && line[0] != '"')) throw Bad(at, "STRING argument is not quoted");
        var body = line[1..^1];
        var bytes = new List<byte>(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\' || i + 1 == body.Length) { bytes.Add(body[i]); continue; }
            byte e = body[++i];
            switch (e)
            {
                case (byte)'n': bytes.Add((byte)'\n'); break;
                case (byte)'r': bytes.Add((byte)'\r'); break;
                case (byte)'t': bytes.Add((byte)'\t'); break;
                case (byte)'\\' or (byte)'\'' or (byte)'"': bytes.Add(e); break;
                case (byte)'x' when i + 2 < body.Length && byte.TryParse(Encoding.ASCII.GetString(body.Slice(i + 1, 2)), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte hex):
                    bytes.Add(hex);
                    i += 2;
                    break;
                default: bytes.Add((byte)'\\'); bytes.Add(e); break;
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    // ---- errors ----

    private static string TypeName(object? value) => value switch
    {
        null or PyNone => "None",
        long or BigInteger => "int",
        bool => "bool",
        double => "float",
        string => "str",
        byte[] => "bytes",
        PyTuple => "tuple",
        PyList => "list",
        PyDict d => d.Ordered ? "OrderedDict" : "dict",
        PySet s => s.Frozen ? "frozenset" : "set",
        PyGlobal g => g.FullName,
        TorchStorage => "storage",
        TorchTensor => "tensor",
        _ => value.GetType().Name,
    };

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private InvalidCheckpointException Bad(int at, string detail) =>
        new(_path, null, $"pickle byte {_fileOffset + at}: {detail}");

    private InvalidCheckpointException Short(int at, long needed) => _cutByLimit
        ? new(_path, null, $"pickle byte {_fileOffset + at}: the pickle is longer than MaxPickleBytes ({_options.MaxPickleBytes})")
        : new(_path, null, $"pickle byte {_fileOffset + at}: truncated (needs {needed} more bytes, or a newline, than the pickle holds)");

    private UnsafePickleException Unsafe(string global, int at, string detail) =>
        new(_path, global, $"{detail} (pickle byte {_fileOffset + at})");
}
