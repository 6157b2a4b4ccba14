using System.Runtime.CompilerServices;
using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging.Planning;

/// <summary>Runs a <see cref="MergePlan"/>: reads, merges and writes one tensor at a time per worker.</summary>
/// <remarks>
/// Memory bound: each tensor needs (inputs + 1) float32 buffers of its size, allocated exactly and freed as soon as the
/// sink returns. Workers pass a byte gate whose capacity is the plan's largest such working set, so at any instant the
/// buffers held sum to at most (models + 2) × 4 × (largest tensor's elements) bytes whatever the worker count or model size.
/// Input data is read through the stores (memory-mapped for safetensors: reclaimable page cache, not heap).
/// Task arithmetic, TIES (without L1 rescaling) and linear take a faster path within the same bound: the inputs' mapped F32 views
/// go to a streaming kernel without a copy, and with an <see cref="IPartialTensorSink"/> the
/// output is written block by block as it is computed, so only the inputs' views are held.
/// SVD methods (tsv, iso_c) additionally hold TorchSharp workspaces of a few times the tensor size.
/// </remarks>
public static class MergeRunner
{
    /// <summary>Merges every tensor of <paramref name="plan"/> into <paramref name="sink"/>.</summary>
    /// <param name="plan">A validated plan.</param>
    /// <param name="sink">Receives each output exactly once; never called concurrently.</param>
    /// <param name="maxParallelism">Worker threads (at least 1).</param>
    /// <param name="progress">Notified after each tensor, from a worker thread.</param>
    /// <param name="ct">Stops the run between tensors; the exception propagates and the sink should discard partial output.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxParallelism"/> is less than 1.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="WeightSpaceException">A read failed or a method could not merge a tensor (the message names it).</exception>
    public static void Run(MergePlan plan, ITensorSink sink, int maxParallelism = 2, IProgress<MergeProgress>? progress = null, CancellationToken ct = default) =>
        Run(plan, sink, maxParallelism, maxWorkingSetBytes: null, progress, ct);

    /// <summary>As the other overload, with the working set capped at <paramref name="maxWorkingSetBytes"/>: tensors run side
    /// by side only while their minimum working sets (<see cref="RequireWorkingSetWithin"/>) sum to at most the cap, so a
    /// cap below two tensors' sum makes them run one at a time (each still on every core). Output is identical with any cap.</summary>
    /// <param name="plan">A validated plan.</param>
    /// <param name="sink">Receives each output exactly once; never called concurrently.</param>
    /// <param name="maxParallelism">Worker threads (at least 1).</param>
    /// <param name="maxWorkingSetBytes">The cap in bytes, or null for the plan's largest working set (no extra limit).</param>
    /// <param name="progress">Notified after each tensor, from a worker thread.</param>
    /// <param name="ct">Stops the run between tensors.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxParallelism"/> is less than 1.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="WeightSpaceException">A tensor's working set alone exceeds the cap (checked before anything is read
    /// or written: <see cref="RequireWorkingSetWithin"/>), a read failed, or a method could not merge a tensor.</exception>
    public static void Run(MergePlan plan, ITensorSink sink, int maxParallelism, long? maxWorkingSetBytes, IProgress<MergeProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxParallelism, 1);
        // Methods that need the whole model before any tensor (paper-semantics TIES) get one pre-pass; its result goes to
        // every tensor's merge.
        float[]? thresholds = plan.Method is IWholeModelMergeMethod wholeModel ? wholeModel.PrepareWholeModel(plan.Tensors, ct) : null;
        // Without a cap the gate's capacity is the largest tensor's float32 working set, every tensor costing its float32
        // measure; with one, the capacity is the cap and each tensor costs what its path holds, so a cap below the default
        // runs fewer (BF16, streamed) tensors side by side instead of refusing.
        bool blockwise = sink is IPartialTensorSink;
        if (maxWorkingSetBytes is { } limit) RequireWithin(plan, limit, blockwise);
        long Cost(PlannedTensor t) => maxWorkingSetBytes is null ? FloatWorkingSetBytes(t) : MinimumWorkingSetBytes(plan.Method, t, blockwise);
        var budget = new MemoryBudget(Math.Max(1, maxWorkingSetBytes ?? plan.PeakWorkingElements * sizeof(float)));
        using var pool = new NativeBufferPool(Math.Max(1, plan.PeakWorkingElements * sizeof(float)));
        var sinkGate = new object();
        long totalBytes = plan.Outputs.Sum(o => o.ByteCount), bytesDone = 0;
        int next = -1, done = 0;
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);

        void Worker()
        {
            while (true)
            {
                failed.Token.ThrowIfCancellationRequested();
                int index = Interlocked.Increment(ref next);
                if (index >= plan.Tensors.Count) return;
                var tensor = plan.Tensors[index];
                long bytes = Cost(tensor);
                budget.Acquire(bytes, failed.Token);
                try { Process(plan.Method, tensor, sink, sinkGate, thresholds, pool); }
                finally { budget.Release(bytes); }
                int count = Interlocked.Increment(ref done);
                long written = Interlocked.Add(ref bytesDone, tensor.Output.ByteCount);
                progress?.Report(new MergeProgress(count, plan.Tensors.Count, written, totalBytes, tensor.Output.Name));
            }
        }

        int workers = Math.Min(maxParallelism, Math.Max(1, plan.Tensors.Count));
        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Factory.StartNew(() =>
        {
            try { Worker(); }
            catch { failed.Cancel(); throw; }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        // Workers watch the token themselves; the wait is never cut short, so every failure is collected.
        try { Task.WaitAll(tasks, CancellationToken.None); }
        catch (AggregateException e)
        {
            ct.ThrowIfCancellationRequested();
            var first = e.InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException) ?? e.InnerExceptions[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        }
    }

    /// <summary>The most the largest tensor's merge holds at once under a cap, in bytes (see <see cref="RequireWorkingSetWithin"/>).</summary>
    /// <param name="plan">A plan.</param>
    /// <returns>The largest tensor's minimum working set.</returns>
    public static long WorkingSetBytes(MergePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.Tensors.Count == 0 ? 0 : plan.Tensors.Max(t => MinimumWorkingSetBytes(plan.Method, t, blockwiseSink: true));
    }

    /// <summary>Throws unless every tensor's minimum working set fits in <paramref name="maxBytes"/>. That is, for a
    /// tensor the streaming kernel merges (task arithmetic, TIES without L1 rescaling, linear): its inputs' views in their
    /// stored dtype plus the output blocks in flight (1 MiB per core), or with a sink that takes whole tensors one float32
    /// output buffer; for every other method a float32 buffer per input and one for the output. A tensor is the unit a
    /// method sees whole (TIES ranks |τ| over the entire tensor, slerp normalises it), so a smaller cap is refused before
    /// any output exists rather than honoured by splitting it.</summary>
    /// <param name="plan">A plan.</param>
    /// <param name="maxBytes">The cap in bytes.</param>
    /// <exception cref="WeightSpaceException">The largest tensor is over the cap (the message names it and the size it needs).</exception>
    public static void RequireWorkingSetWithin(MergePlan plan, long maxBytes) => RequireWithin(plan, maxBytes, blockwiseSink: true);

    private static void RequireWithin(MergePlan plan, long maxBytes, bool blockwiseSink)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var largest = plan.Tensors.Count == 0 ? null : plan.Tensors.MaxBy(t => MinimumWorkingSetBytes(plan.Method, t, blockwiseSink));
        if (largest is null) return;
        long need = MinimumWorkingSetBytes(plan.Method, largest, blockwiseSink);
        if (need <= maxBytes) return;
        int inputs = largest.Models.Count + (largest.Base is null ? 0 : 1);
        throw new WeightSpaceException(string.Create(CultureInfo.InvariantCulture,
            $"--max-ram {maxBytes} bytes: tensor '{largest.Output.Name}' needs {need} bytes ({need / 1e6:F1} MB for its {inputs} inputs and output, "
            + $"{largest.Output.ElementCount} elements) and is merged whole; give --max-ram {need} or more"));
    }

    // The float32 measure the default budget uses: what the in-place path holds, an upper bound of the streaming path.
    private static long FloatWorkingSetBytes(PlannedTensor tensor) => checked(tensor.WorkingElements * sizeof(float));

    private static long MinimumWorkingSetBytes(IMergeMethod method, PlannedTensor tensor, bool blockwiseSink)
    {
        if (tensor.IsCopy) return 0;
        if (!TakesStreamingPath(method, tensor)) return FloatWorkingSetBytes(tensor);
        long n = tensor.Output.ElementCount;
        long bytes = blockwiseSink ? Math.Min(n, (long)StreamingTaskArithmetic.ChunkLength * Environment.ProcessorCount) * sizeof(float) : checked(n * sizeof(float));
        foreach (var source in tensor.Models.Prepend(tensor.Base))
            if (source is not null) bytes = checked(bytes + source.Store.GetInfo(source.StoredName).ByteCount);
        return bytes;
    }

    private static bool TakesStreamingPath(IMergeMethod method, PlannedTensor tensor) =>
        tensor.Output.ElementCount > 0 && method is IStreamingMergeMethod streaming && (tensor.Base is not null || method.BaseModel != BaseModelRole.Required)
        && streaming.SupportsReadOnlyInputs(tensor.Parameters);

    private static void Process(IMergeMethod method, PlannedTensor tensor, ITensorSink sink, object sinkGate, float[]? thresholds, NativeBufferPool pool)
    {
        if (tensor.IsCopy)
        {
            var source = tensor.Base ?? tensor.Models[0];
            using var raw = source.Store.Read(source.StoredName);
            lock (sinkGate) sink.WriteBytes(tensor.Output.Name, raw.Bytes);
            return;
        }
        int n = (int)tensor.Output.ElementCount;
        if (TakesStreamingPath(method, tensor))
        {
            ProcessReadOnly((IStreamingMergeMethod)method, tensor, sink, sinkGate, thresholds, pool);
            return;
        }
        var owned = new List<IDisposable>();
        try
        {
            var sources = (tensor.Base is null ? tensor.Models : tensor.Models.Prepend(tensor.Base)).ToArray();
            var memories = new Memory<float>[sources.Length];
            bool borrow = method is IReadOnlyInputsMergeMethod && n > 0;
            for (int i = 0; i < sources.Length; i++)
            {
                var data = sources[i].Store.Read(sources[i].StoredName);
                if (borrow && data.Info.DType == DType.F32 && data.TryGetMappedBytes(out var bytes))
                {
                    // A method that only reads its inputs gets the mapped F32 view itself: no copy.
                    owned.Add(data);
                    unsafe { memories[i] = new BorrowedMemory((float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes)), n).Memory; }
                    continue;
                }
                // Otherwise one input view at a time: its mapped pages count towards RSS until it is disposed.
                using (data)
                {
                    var buffer = pool.Rent(n);
                    owned.Add(buffer);
                    ConvertInParallel(data, buffer.Memory, n);
                    memories[i] = buffer.Memory;
                }
            }
            int first = tensor.Base is null ? 0 : 1;
            Memory<float> baseValues = tensor.Base is null ? Memory<float>.Empty : memories[0];
            var models = memories[first..];
            var output = pool.Rent(n);
            owned.Add(output);
            var inputs = new MergeInputs(tensor.Output, n == 0 ? Memory<float>.Empty : baseValues, models, tensor.Parameters, tensor.Seed, thresholds);
            if (n > 0)
            {
                try { method.Merge(inputs, output.GetSpan()); }
                catch (Exception e) when (e is not WeightSpaceException and not OperationCanceledException)
                {
                    throw new WeightSpaceException($"{method.Name}: tensor '{tensor.Output.Name}': {e.Message}", e);
                }
            }
            lock (sinkGate) sink.Write(tensor.Output.Name, output.GetSpan());
        }
        finally
        {
            foreach (var b in owned) b.Dispose();
        }
    }

    // Task arithmetic, TIES and linear straight from the mapped inputs: no whole-tensor float copy (F32 is read in place,
    // BF16/F16/… converted a chunk at a time inside the kernel), so the working set is the inputs' views plus the output
    // buffer (none with a partial sink), and the inputs are read at most twice (StreamingTaskArithmetic).
    private static unsafe void ProcessReadOnly(IStreamingMergeMethod method, PlannedTensor tensor, ITensorSink sink, object sinkGate, float[]? thresholds, NativeBufferPool pool)
    {
        int n = (int)tensor.Output.ElementCount;
        // Methods without a base (linear) get θ₀ = 0: a null pointer the kernel reads as zeros.
        var sources = tensor.Models.Prepend(tensor.Base).ToArray();
        var held = new List<IDisposable>();
        try
        {
            var inputs = new StreamInput[sources.Length];
            for (int i = 0; i < sources.Length; i++)
            {
                if (sources[i] is not { } source) continue;
                var data = source.Store.Read(source.StoredName);
                // A mapped view in a float dtype the kernel converts itself, chunk by chunk (F32 read in place, BF16/F16
                // widened): no whole-tensor float copy. Bytes over 2 GiB or gathered views are converted up front.
                if (data.Info.DType.IsFloatingPoint() && data.ByteCount <= int.MaxValue && data.TryGetMappedBytes(out var bytes))
                {
                    held.Add(data);
                    inputs[i] = new StreamInput((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes)), data.Info.DType);
                    continue;
                }
                using (data)
                {
                    var buffer = pool.Rent(n);
                    held.Add(buffer);
                    ConvertInParallel(data, buffer.Memory, n);
                    inputs[i] = StreamInput.Single((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffer.GetSpan())));
                }
            }
            string name = tensor.Output.Name;
            try
            {
                if (sink is IPartialTensorSink partial)
                {
                    // Each block goes to the sink as soon as it is computed, from the kernel's threads: no output buffer
                    // and no serial write after the merge.
                    method.MergeReadOnly(tensor.Output, tensor.Parameters, thresholds, inputs[0], inputs[1..], (start, values) => partial.WritePart(name, start, values));
                    return;
                }
                var output = pool.Rent(n);
                held.Add(output);
                method.MergeReadOnly(tensor.Output, tensor.Parameters, thresholds, inputs[0], inputs[1..], (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(output.GetSpan())));
                // Unmap the inputs before the (serial) write so their pages stop counting while the sink copies.
                foreach (var h in held) if (!ReferenceEquals(h, output)) h.Dispose();
                lock (sinkGate) sink.Write(name, output.GetSpan());
            }
            catch (Exception e) when (e is not WeightSpaceException and not OperationCanceledException and not IOException)
            {
                // The kernel's parallel loops wrap what a block (or the sink) threw.
                var inner = e is AggregateException a ? a.Flatten().InnerExceptions[0] : e;
                if (inner is WeightSpaceException or OperationCanceledException or IOException)
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
                throw new WeightSpaceException($"{method.Name}: tensor '{name}': {inner.Message}", inner);
            }
        }
        finally
        {
            foreach (var h in held) h.Dispose();
        }
    }

    // One input view at a time is converted, a large one in parallel chunks: under the memory bound a large tensor runs
    // alone, leaving other cores idle.
    private static void ConvertInParallel(TensorBuffer data, Memory<float> target, int n)
    {
        const int chunk = 1 << 22;
        if (n < 2 * chunk) { data.CopyTo(target.Span); return; }
        Parallel.For(0, (n + chunk - 1) / chunk, c =>
        {
            int start = c * chunk, length = Math.Min(chunk, n - start);
            data.CopyTo(start, target.Span.Slice(start, length));
        });
    }
}
