using System.Text;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>
    /// Adds or replaces (upserts) the entry <paramref name="id"/>. It is searchable when this returns and durable
    /// after the next <see cref="Commit"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The vector has the wrong length or a NaN/infinite value.</exception>
    public void Add(long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload)
        => AddRange([id], vector, [payload.ToArray()]);

    /// <summary>Adds or replaces the entry <paramref name="id"/> with a UTF-8 text (for example JSON) payload.</summary>
    public void Add(long id, ReadOnlySpan<float> vector, string payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        AddRange([id], vector, [Encoding.UTF8.GetBytes(payload)]);
    }

    /// <summary>
    /// Adds or replaces many entries: <paramref name="vectors"/> holds one row of <see cref="Dimension"/> values per
    /// id; <paramref name="payloads"/> one payload per id (or null for empty payloads). An id given twice in one batch
    /// is upserted twice, in order: the last one wins. Every id, <see cref="long.MinValue"/> and
    /// <see cref="long.MaxValue"/> included, is valid.
    /// </summary>
    /// <exception cref="ArgumentException">A vector is invalid (wrong length, NaN or infinite, zero under the cosine metric), or a
    /// vector with its payload exceeds the log's record limit (4 MiB − 12 bytes, <c>LogRecordFormat.MaxRecordBytes</c>); nothing is added.</exception>
    public void AddRange(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors, IReadOnlyList<byte[]>? payloads = null)
        => AddRange(ids, vectors, payloads, null);

    /// <summary>
    /// Adds or replaces the entry <paramref name="id"/> with metadata field values (checked against
    /// <see cref="Fields"/>; fields not set are null).
    /// </summary>
    /// <exception cref="ArgumentException">The vector is invalid, or a field is not declared or its value has another type.</exception>
    public void Add(long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload, FieldValues? fields)
        => AddRange([id], vector, [payload.ToArray()], [fields]);

    /// <summary>
    /// Adds or replaces many entries with metadata: <paramref name="fields"/> holds one <see cref="FieldValues"/>
    /// (or null: every field null) per id, or is null. Every value is checked before anything is added.
    /// </summary>
    public void AddRange(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors, IReadOnlyList<byte[]>? payloads, IReadOnlyList<FieldValues?>? fields)
    {
        ThrowIfReadOnly();
        int n = CheckVectors(vectors, nameof(vectors));
        if (ids.Length != n) throw new ArgumentException($"{n} vectors but {ids.Length} ids.", nameof(ids));
        if (payloads != null && payloads.Count != n) throw new ArgumentException($"{n} vectors but {payloads.Count} payloads.", nameof(payloads));
        if (fields != null && fields.Count != n) throw new ArgumentException($"{n} vectors but {fields.Count} field values.", nameof(fields));
        if (n == 0) return;
        var rows = fields == null ? null : new object?[]?[n];
        for (int i = 0; rows != null && i < n; i++) rows[i] = fields![i]?.ToRow(_manifest.Fields);
        AddRows(ids, vectors, payloads, rows);
    }

    /// <summary>AddRange with field values already in their stored form (as repair reads them back); the counts are checked.</summary>
    private void AddRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors, IReadOnlyList<byte[]>? payloads, object?[]?[]? rows)
    {
        int n = ids.Length;
        // Every record must fit the log before any is appended: a batch goes in whole or not at all.
        for (int i = 0; i < n; i++) LogRecordFormat.CheckedUpsertLength(vectors.Slice(i * Dimension, Dimension), payloads?[i] ?? []);
        ReadOnlySpan<float> prepared = Metric == Metric.Cosine ? NormalizedCopy(vectors, n) : vectors;
        lock (_writer)
        {
            ThrowIfDisposed();
            // Chunks bound the memory of encoding and let the buffer seal at its threshold within a large batch.
            const int chunk = 4096;
            var addresses = new long[Math.Min(n, chunk)];
            try
            {
                for (int start = 0; start < n; start += chunk)
                {
                    int count = Math.Min(chunk, n - start);
                    for (int i = 0; i < count; i++)
                    {
                        byte[] payload = payloads?[start + i] ?? [];
                        addresses[i] = _log.AppendUpsert(ids[start + i], prepared.Slice((start + i) * Dimension, Dimension), payload);
                        if (rows?[start + i] is { } row) _log.AppendFields(ids[start + i], FieldRow.Encode(_manifest.Fields, row));
                    }
                    ApplyUpserts(ids.Slice(start, count), prepared.Slice(start * Dimension, count * Dimension), addresses.AsSpan(0, count),
                        rows == null ? default : rows.AsSpan(start, count));
                    if (_quantizer == null && _buffer.Count - _buffer.DeletedCount >= _manifest.TrainingThreshold) TrainFromBufferLocked();
                    if (_quantizer != null && _buffer.Count >= SealThreshold) SealLocked();
                }
            }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "add"); }
        }
    }

    /// <summary>Deletes the entry <paramref name="id"/>: excluded from results at once, durable after the next <see cref="Commit"/>.</summary>
    /// <returns>False when no such entry exists.</returns>
    public bool Delete(long id)
    {
        ThrowIfReadOnly();
        lock (_writer)
        {
            ThrowIfDisposed();
            if (!Contains(id)) return false;
            try { _log.AppendDelete(id); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "delete"); }
            ApplyDelete(id);
            return true;
        }
    }

    /// <summary>Returns when every add and delete made before the call is durable.</summary>
    public void Commit()
    {
        ThrowIfReadOnly();
        lock (_writer)
        {
            ThrowIfDisposed();
            try { _log.Commit(); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "commit"); }
        }
    }

    /// <summary>Completes when every add and delete made before the call is durable.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        // FASTER's commit covers everything enqueued before it; no lock is needed to wait for it.
        try
        {
            await _log.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (WriteFailures.IsWriteFailure(e))
        {
            lock (_writer) throw RecoverFromWriteFailureLocked(e, "commit");
        }
    }

    /// <summary>
    /// Trains the quantizers on <paramref name="sample"/> (row-major; at least max(256, nlist) vectors) instead of
    /// waiting for <see cref="EmbeddedVectorStoreOptions.TrainingThreshold"/> entries. Entries already added are
    /// encoded at once.
    /// </summary>
    /// <exception cref="InvalidOperationException">The store is already trained.</exception>
    public void Train(ReadOnlySpan<float> sample)
    {
        ThrowIfReadOnly();
        int n = CheckVectors(sample, nameof(sample));
        int needed = Math.Max(ProductQuantizer.CentroidsPerSubQuantizer, _manifest.NList);
        if (n < needed) throw new ArgumentException($"Training needs at least {needed} vectors (max(256, nlist)); got {n}.", nameof(sample));
        ReadOnlySpan<float> prepared = Metric == Metric.Cosine ? NormalizedCopy(sample, n) : sample;
        lock (_writer)
        {
            ThrowIfDisposed();
            if (_quantizer != null) throw new InvalidOperationException("The store is already trained; its quantizers are fixed for its life.");
            try { TrainLocked(prepared, n); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "training"); }
        }
    }

    /// <summary>Seals the write buffer into a segment file now and persists pending deletions, so a reopen replays nothing.</summary>
    public void Flush()
    {
        ThrowIfReadOnly();
        lock (_writer)
        {
            ThrowIfDisposed();
            try { SealLocked(); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "seal"); }
        }
    }

    private void TrainFromBufferLocked()
    {
        var list = _buffer.Lists[0];
        int live = list.Count - (int)_buffer.DeletedCount;
        var sample = new float[(long)live * Dimension];
        int row = 0;
        for (int i = 0; i < list.Count; i++)
        {
            if (list.IsDeleted(i)) continue;
            list.Row(i).CopyTo(sample.AsSpan(row++ * Dimension, Dimension));
        }
        TrainLocked(sample, live);
    }

    private void TrainLocked(ReadOnlySpan<float> sample, int n)
    {
        var quantizer = TrainQuantizer(sample, n, out double coarseError);
        if (quantizer.Rotation != null) RotationFile.Write(StorePath, quantizer.Rotation);
        if (_manifest.Shape.Rows == RowEncoding.Int8) RowParametersFile.Write(StorePath, _rowCodec = RowCodec.TrainInt8(sample, n, Dimension));
        QuantizerFile.Write(StorePath, Metric, quantizer.Coarse, quantizer.Pq, _manifest.CodeLayout);
        if (quantizer.Coarse.HasGraph) CoarseGraphFile.Write(StorePath, Metric, quantizer.Coarse);
        var manifest = _manifest with { Trained = true, CoarseGraph = quantizer.Coarse.HasGraph, Generation = _manifest.Generation + 1, TrainingCoarseError = coarseError };
        manifest.Write(StorePath);

        // The exactly-searched entries become codes (they stay in the log until the next seal).
        RefileBufferLocked(manifest, quantizer);
    }

    /// <summary>
    /// Files the write buffer's live entries into a new buffer built for <paramref name="manifest"/> (encoded with
    /// <paramref name="quantizer"/> when there is one), then swaps: searches see the old buffer until the new one is complete.
    /// </summary>
    private void RefileBufferLocked(Manifest manifest, IvfPqQuantizer? quantizer)
    {
        var entries = _buffer.Lists[0];
        if (_quantizer != null && _buffer.Count > 0) throw new InvalidOperationException("Only an untrained buffer (one list, rows kept) can be re-filed.");
        var ids = new List<long>();
        var addresses = new List<long>();
        var vectors = new List<float>();
        var rows = new List<object?[]?>();
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries.IsDeleted(i)) continue;
            rows.Add(entries.Fields?.Row(i, manifest.Fields.Count));
            ids.Add(entries.Ids[i]);
            addresses.Add(entries.PayloadAddresses[i]);
            vectors.AddRange(entries.Row(i));
        }
        var buffer = NewBuffer(quantizer, manifest);
        var bufferIds = new Dictionary<long, (int List, int Position)>(ids.Count);
        var encoded = Encode(quantizer, vectors.ToArray(), ids.Count);
        for (int i = 0; i < ids.Count; i++)
            bufferIds[ids[i]] = buffer.Append(encoded.List(i), encoded.Code(i), ids[i], addresses[i], encoded.Vector(i), rows[i]);
        SwapStateLocked(manifest, quantizer, _segments, buffer, bufferIds);
    }

    /// <summary>Files prepared (finite, normalised) vectors into the write buffer, replacing older versions of their ids.</summary>
    private void ApplyUpserts(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors, ReadOnlySpan<long> addresses, ReadOnlySpan<object?[]?> fields = default)
    {
        // Encoding is the expensive part: it runs before the state lock, so searches and reads go on meanwhile.
        var encoded = Encode(_quantizer, vectors, ids.Length);
        _state.EnterWriteLock();
        try
        {
            for (int i = 0; i < ids.Length; i++)
            {
                RemoveLiveLocked(ids[i]);
                _bufferIds[ids[i]] = _buffer.Append(encoded.List(i), encoded.Code(i), ids[i], addresses[i], encoded.Vector(i),
                    fields.IsEmpty ? null : fields[i]);
            }
            PublishLocked();
        }
        finally { _state.ExitWriteLock(); }
    }

    private void ApplyDelete(long id)
    {
        _state.EnterWriteLock();
        try
        {
            if (RemoveLiveLocked(id)) PublishLocked();
        }
        finally { _state.ExitWriteLock(); }
    }

    /// <summary>Marks the live version of <paramref name="id"/> deleted, wherever it is. At most one version is ever live.</summary>
    private bool RemoveLiveLocked(long id)
    {
        if (_bufferIds.Remove(id, out var location)) return _buffer.MarkDeleted(location.List, location.Position);
        for (int s = _segments.Count - 1; s >= 0; s--)
        {
            var segment = _segments[s];
            long position = segment.Segment.Find(id);
            if (position >= 0 && segment.MarkDeleted(position, _publications)) return true;
        }
        return false;
    }

    /// <summary>Trains quantizers with this store's shape on a prepared sample; <paramref name="coarseError"/> is the sample's mean squared distance to its cell.</summary>
    private IvfPqQuantizer TrainQuantizer(ReadOnlySpan<float> sample, int n, out double coarseError)
    {
        var quantizer = IvfPqQuantizer.Train(sample, n, Dimension, _manifest.NList, _manifest.M, Metric.RankingMetric(), _options.KMeans,
            MaxPrecomputedTableBytes, FastScanCodes ? 4 : 8, opqIterations: _manifest.Opq ? _options.OpqIterations : 0, _options.CoarseGraphMinNList);
        quantizer.Encode(sample, n, new int[n], new byte[(long)n * quantizer.CodeSize], out double sum);
        coarseError = sum / Math.Max(1, n);
        return quantizer;
    }

    /// <summary>Cell and code of each vector (cell 0 and no code before training); feeds the drift watch.</summary>
    private EncodedRows Encode(IvfPqQuantizer? quantizer, ReadOnlySpan<float> vectors, int n)
    {
        if (quantizer == null) return new EncodedRows(null, null, 0, vectors, Dimension);
        var lists = new int[n];
        var codes = new byte[(long)n * quantizer.CodeSize];
        quantizer.Encode(vectors, n, lists, codes, out double sum);
        _drift.Observe(sum, n);
        return new EncodedRows(lists, codes, quantizer.CodeSize, vectors, Dimension);
    }

    private readonly ref struct EncodedRows(int[]? lists, byte[]? codes, int codeSize, ReadOnlySpan<float> vectors, int dimension)
    {
        private readonly ReadOnlySpan<float> _vectors = vectors;

        public int List(int i) => lists?[i] ?? 0;
        public ReadOnlySpan<byte> Code(int i) => codes == null ? default : codes.AsSpan(i * codeSize, codeSize);
        public ReadOnlySpan<float> Vector(int i) => _vectors.Slice(i * dimension, dimension);
    }

    /// <summary>An upsert met in replay, applied once the next record shows whether its field values follow.</summary>
    private (long Id, float[] Vector, long Address)? _pendingUpsert;

    /// <summary>Applies the upsert replay holds back, with <paramref name="fields"/> (null: none).</summary>
    private void ApplyPendingUpsert(object?[]? fields)
    {
        if (_pendingUpsert is not { } pending) return;
        _pendingUpsert = null;
        ApplyUpserts([pending.Id], pending.Vector, [pending.Address], [fields]);
    }

    private void ReplayRecord(in LogRecordView record)
    {
        if (record.Kind == LogRecordKind.Fields)
        {
            if (_pendingUpsert is not { } pending || pending.Id != record.Id)
                throw new CorruptFileException(_log.Directory, $"the Fields record at address {record.Address} of id {record.Id} does not follow an upsert of that id.");
            var row = FieldRow.Decode(_manifest.Fields, record.Payload)
                ?? throw new CorruptFileException(_log.Directory, $"the Fields record at address {record.Address} does not decode against the store's fields.");
            ApplyPendingUpsert(row);
            return;
        }
        ApplyPendingUpsert(null);
        switch (record.Kind)
        {
            case LogRecordKind.Upsert:
                if (record.Vector.Length != Dimension)
                    throw new CorruptFileException(_log.Directory, $"the record at address {record.Address} holds a {record.Vector.Length}-dimensional vector; the store is {Dimension}-dimensional.");
                _pendingUpsert = (record.Id, record.Vector.ToArray(), record.Address);
                break;
            case LogRecordKind.Delete:
                ApplyDelete(record.Id);
                break;
            case LogRecordKind.PayloadCopy:
                break; // compaction's copies are already sealed in a segment
        }
    }

    private int CheckVectors(ReadOnlySpan<float> vectors, string parameterName) => VectorChecks.CheckRows(vectors, Dimension, parameterName);

    private float[] NormalizedCopy(ReadOnlySpan<float> vectors, int n)
    {
        var copy = vectors.ToArray();
        for (int i = 0; i < n; i++)
        {
            try { VectorKernels.Normalize(copy.AsSpan(i * Dimension, Dimension)); }
            catch (ArgumentException)
            {
                throw new ArgumentException($"Row {i} is the zero vector (or overflows): it has no direction, so the cosine metric cannot store or compare it.", nameof(vectors));
            }
        }
        return copy;
    }
}
