using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors;

// Health of the quantizers (list balance, drift of new vectors away from the training sample) and retraining.
public sealed partial class EmbeddedVectorStore
{
    /// <summary>Recent vectors' error above the training sample's by this factor advises a retrain.</summary>
    internal const double DriftRatioAdvisingRetrain = 1.25;

    /// <summary>A largest list this many times the mean advises a retrain.</summary>
    internal const double ImbalanceAdvisingRetrain = 20;

    /// <summary>Vectors the drift estimate averages over (and needs before it counts).</summary>
    private const int DriftWindow = 2_000;

    private readonly DriftWatch _drift = new(DriftWindow);

    /// <summary>
    /// Trains new quantizers on a sample of the stored vectors and re-encodes every entry with them, then switches
    /// to them atomically (a crash leaves the old or the new store, whole). Searches go on against the old
    /// quantizers and segments meanwhile; writes wait. Use it when <see cref="StoreInfo.RetrainAdvised"/> says
    /// the vectors added since training no longer fit the cells (recall then decays at equal nprobe).
    /// </summary>
    /// <param name="sampleSize">Vectors to train on (0: 256 × nlist, at most every live entry).</param>
    /// <exception cref="InvalidOperationException">The store is read-only, untrained, or keeps no full vectors (it has nothing exact to re-encode from).</exception>
    public void Retrain(int sampleSize = 0)
    {
        ThrowIfReadOnly();
        ArgumentOutOfRangeException.ThrowIfNegative(sampleSize);
        lock (_writer)
        {
            ThrowIfDisposed();
            if (_quantizer == null) throw new InvalidOperationException("The store is not trained yet: it trains itself at its training threshold, or call Train.");
            if (!_manifest.StoreVectors) throw new InvalidOperationException("Retraining re-encodes the full vectors, but this store was created with StoreVectors = false.");
            try { SealLocked(); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "seal"); }
            var sources = _segments.Select(segment => segment.View()).ToList();
            try
            {
                RetrainLocked(sources, sampleSize);
            }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "retraining"); }
            finally
            {
                foreach (var source in sources) source.Owner.Release();
            }
        }
    }

    private void RetrainLocked(List<SegmentView> sources, int sampleSize)
    {
        long live = 0;
        foreach (var source in sources) live += source.Segment.Count - source.Deleted.DeletedCount;
        if (live == 0) return;
        long maxRows = (1L << 30) / (sizeof(float) * Dimension); // a sample of at most 1 GiB
        long wanted = Math.Min(live, Math.Min(maxRows, sampleSize > 0 ? sampleSize : 256L * _manifest.NList));
        long needed = Math.Max(ProductQuantizer.CentroidsPerSubQuantizer, _manifest.NList);
        if (live < needed) throw new InvalidOperationException($"Retraining needs at least {needed} live entries (max(256, nlist)); the store has {live}.");
        wanted = Math.Max(wanted, needed);
        var sample = SampleRows(sources, live, (int)wanted);
        var quantizer = TrainQuantizer(sample, sample.Length / Dimension, out double coarseError);

        // New quantizer files beside the old ones; only the manifest written last makes them the store's.
        long generation = _manifest.Generation + 1;
        string relative = $"quantizers/{generation:D6}";
        string quantizerPath = Path.Combine(StorePath, relative);
        DurableDirectory.Create(quantizerPath);
        if (quantizer.Rotation != null) RotationFile.Write(quantizerPath, quantizer.Rotation);
        QuantizerFile.Write(quantizerPath, Metric, quantizer.Coarse, quantizer.Pq, _manifest.CodeLayout);
        if (quantizer.Coarse.HasGraph) CoarseGraphFile.Write(quantizerPath, Metric, quantizer.Coarse);

        long number = _manifest.NextSegmentNumber;
        var segment = ReencodeInto(number, quantizer, sources, live);
        string oldQuantizers = _manifest.QuantizerPath(StorePath);
        var manifest = _manifest with
        {
            Segments = [segment.ToEntry()],
            NextSegmentNumber = number + 1,
            Generation = generation,
            QuantizerDirectory = relative,
            CoarseGraph = quantizer.Coarse.HasGraph,
            TrainingCoarseError = coarseError,
        };
        manifest.Write(StorePath);
        var old = _segments;
        _drift.Reset();
        SwapStateLocked(manifest, quantizer, [segment], NewBuffer(quantizer, manifest), []);
        foreach (var source in old)
        {
            source.MarkObsolete();
            source.Release();
        }
        // The old quantizers live on in memory for searches still using them; their files are no longer named.
        if (oldQuantizers != StorePath) StoreFiles.TryDeleteDirectory(oldQuantizers);
        else
        {
            StoreFiles.TryDelete(Path.Combine(StorePath, QuantizerFile.FileName));
            StoreFiles.TryDelete(Path.Combine(StorePath, RotationFile.FileName));
            StoreFiles.TryDelete(Path.Combine(StorePath, CoarseGraphFile.FileName));
        }
        TruncateSealedLogLocked();
    }

    /// <summary><paramref name="wanted"/> live rows spread evenly over the segments.</summary>
    private float[] SampleRows(List<SegmentView> sources, long live, int wanted)
    {
        var sample = new float[(long)wanted * Dimension];
        double step = live / (double)wanted;
        double next = 0;
        long seen = 0;
        int taken = 0;
        foreach (var source in sources)
        {
            for (long position = 0; position < source.Segment.Count && taken < wanted; position++)
            {
                if (source.Deleted.IsDeleted(position)) continue;
                if (seen++ < (long)next) continue;
                source.Segment.VectorAt(position).CopyTo(sample.AsSpan(taken++ * Dimension, Dimension));
                next += step;
            }
        }
        return taken == wanted ? sample : sample.AsSpan(0, taken * Dimension).ToArray();
    }

    /// <summary>Every live entry of <paramref name="sources"/> coded with <paramref name="quantizer"/>, as one new segment.</summary>
    private SealedSegment ReencodeInto(long number, IvfPqQuantizer quantizer, List<SegmentView> sources, long live)
    {
        // Codes first (the entries change cells), then written list by list.
        int n = checked((int)live);
        var lists = new int[n];
        var codes = new byte[checked(n * quantizer.CodeSize)]; // one array: stores past ~2 GiB of codes would need an external sort
        var origin = new (int Source, long Position)[n];
        const int chunk = 4096;
        var rows = new float[chunk * Dimension];
        int done = 0, pending = 0;
        for (int s = 0; s < sources.Count; s++)
        {
            var source = sources[s];
            for (long position = 0; position < source.Segment.Count; position++)
            {
                if (source.Deleted.IsDeleted(position)) continue;
                source.Segment.VectorAt(position).CopyTo(rows.AsSpan(pending * Dimension, Dimension));
                origin[done + pending++] = (s, position);
                if (pending == chunk) Flush();
            }
        }
        Flush();

        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(lists.ToArray(), order); // stable enough: ties keep no particular order, which a segment does not need

        var shape = _manifest.Shape;
        using var builder = new SegmentBuilder(StorePath, number, shape, live, _rowCodec, _manifest.Fields);
        foreach (int i in order)
        {
            var (s, position) = origin[i];
            var segment = sources[s].Segment;
            long id = segment.IdAt(position);
            builder.Append(lists[i], codes.AsSpan(i * quantizer.CodeSize, quantizer.CodeSize), id,
                ReadPayload(sources[s].Owner, segment.PayloadAddressAt(position), id), segment.VectorAt(position),
                sources[s].Owner.Fields?.Row((int)position, _manifest.Fields.Count));
        }
        return builder.Complete();

        void Flush()
        {
            if (pending == 0) return;
            quantizer.Encode(rows.AsSpan(0, pending * Dimension), pending, lists.AsSpan(done, pending), codes.AsSpan(checked(done * quantizer.CodeSize), pending * quantizer.CodeSize));
            done += pending;
            pending = 0;
        }
    }

    /// <summary>List balance over the segments and the buffer, for <see cref="StoreInfo"/>.</summary>
    private (int Largest, double Mean, int Empty) ListBalanceLocked()
    {
        int nlist = _manifest.NList;
        if (_quantizer == null) return (0, 0, 0);
        var sizes = new long[nlist];
        foreach (var segment in _segments)
            for (int l = 0; l < nlist; l++) sizes[l] += segment.Segment.ListCount(l);
        if (_buffer.Lists.Length == nlist)
            for (int l = 0; l < nlist; l++) sizes[l] += _buffer.Lists[l].Count;
        long total = 0, largest = 0;
        int empty = 0;
        foreach (long size in sizes)
        {
            total += size;
            largest = Math.Max(largest, size);
            if (size == 0) empty++;
        }
        return ((int)Math.Min(largest, int.MaxValue), total / (double)nlist, empty);
    }

    /// <summary>The mean coarse error of the most recent vectors coded (an exponentially weighted window).</summary>
    private sealed class DriftWatch(int window)
    {
        private readonly Lock _lock = new();
        private double _mean;
        private long _seen;

        public void Observe(double squaredErrorSum, int count)
        {
            if (count <= 0) return;
            lock (_lock)
            {
                double weight = Math.Min(1.0, count / (double)window);
                double batchMean = squaredErrorSum / count;
                _mean = _seen == 0 ? batchMean : _mean + (batchMean - _mean) * weight;
                _seen += count;
            }
        }

        public void Reset()
        {
            lock (_lock) (_mean, _seen) = (0, 0);
        }

        /// <summary>The recent mean, or null until a window's worth has been seen.</summary>
        public double? Recent
        {
            get
            {
                lock (_lock) return _seen >= window ? _mean : null;
            }
        }
    }
}
