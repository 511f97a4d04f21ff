using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Training;

/// <summary>
/// A hierarchical navigable small-world graph (Malkov and Yashunin, "Efficient and robust approximate nearest
/// neighbor search using Hierarchical Navigable Small World graphs", 2016/2018) over the centroids of a coarse
/// quantizer, so a query finds its nearest cells by visiting a few thousand centroids instead of all of them.
/// </summary>
/// <remarks>
/// <para>
/// Each centroid gets a level drawn from a geometric distribution (multiplier 1 / ln M); level 0 holds every
/// centroid with up to 2M neighbours, each higher level a thinning subset with up to M. Insertion searches each
/// level from the top entry point (greedy above the node's level, a beam of <c>efConstruction</c> at and below)
/// and keeps neighbours with the paper's diversity heuristic (a candidate is kept only when it is nearer to the
/// new node than to every neighbour kept so far); a neighbour whose list overflows re-selects with the same rule.
/// </para>
/// <para>
/// Construction and search both rank by the index's ranking distance: L2², or −⟨x, y⟩ for inner product, as the
/// paper allows any distance. (Reducing inner product to L2 in one more dimension, (c, √(R² − ‖c‖²)), was tried
/// and measured worse: 0.84 of the flat probe's cells at nprobe 16 and beam 64 on 3,000 public-set centroids of
/// norms 0.5–1.5, against 0.995 with −⟨x, y⟩, since the lifted queries lie far from every lifted centroid.)
/// </para>
/// <para>
/// Layout (also the persisted one, see <c>Storage/CoarseGraphFile.cs</c>): the level of every node; level-0
/// neighbours in <c>count × 2M</c> slots; for each node with level ≥ 1, in node order, M slots per level 1..level.
/// Unused slots are −1 and only follow used ones.
/// </para>
/// </remarks>
internal sealed class CentroidGraph
{
    /// <summary>Neighbours a node keeps on levels above 0 (twice as many on level 0).</summary>
    public const int DefaultM = 16;

    /// <summary>Beam width when inserting a node.</summary>
    public const int DefaultEfConstruction = 200;

    /// <summary>The largest level a file may claim (2^-30 odds per node even at M = 2).</summary>
    public const int MaxLevelLimit = 30;

    private readonly float[] _centroids;
    private readonly float[] _norms;
    private readonly int[] _upperStart;

    private CentroidGraph(float[] centroids, int count, int dimension, Metric rankingMetric, int m, int[] levels, int[] level0, int[] upper, int entryPoint)
    {
        _centroids = centroids;
        Count = count;
        Dimension = dimension;
        RankingMetric = rankingMetric;
        M = m;
        Levels = levels;
        Level0 = level0;
        Upper = upper;
        EntryPoint = entryPoint;
        MaxLevel = levels[entryPoint];
        _upperStart = UpperStarts(levels, m, out _);
        _norms = new float[count];
        for (int i = 0; i < count; i++) _norms[i] = VectorKernels.SquaredNorm(Row(i));
    }

    public int Count { get; }
    public int Dimension { get; }
    public Metric RankingMetric { get; }
    public int M { get; }
    public int M0 => 2 * M;
    public int EntryPoint { get; }
    public int MaxLevel { get; }

    /// <summary>The level of each node.</summary>
    public int[] Levels { get; }

    /// <summary>Level-0 neighbours, <see cref="M0"/> slots a node, −1 where unused.</summary>
    public int[] Level0 { get; }

    /// <summary>Neighbours on levels ≥ 1: for each node of level ≥ 1 in node order, <see cref="M"/> slots per level.</summary>
    public int[] Upper { get; }

    /// <summary>Builds the graph over <paramref name="count"/> row-major centroids (kept by reference, not copied).</summary>
    public static CentroidGraph Build(float[] centroids, int count, int dimension, Metric rankingMetric,
        int m = DefaultM, int efConstruction = DefaultEfConstruction, int seed = 1234)
    {
        var random = new Random(seed);
        double multiplier = 1 / Math.Log(m);
        var levels = new int[count];
        for (int i = 0; i < count; i++)
            levels[i] = Math.Min(MaxLevelLimit, (int)(-Math.Log(1 - random.NextDouble()) * multiplier));
        UpperStarts(levels, m, out int upperLength);
        var level0 = new int[(long)count * 2 * m];
        var upper = new int[upperLength];
        Array.Fill(level0, -1);
        Array.Fill(upper, -1);
        var graph = new CentroidGraph(centroids, count, dimension, rankingMetric, m, levels, level0, upper, TopNode(levels));
        new Builder(graph, efConstruction).InsertAll();
        return graph;
    }

    /// <summary>
    /// Rebuilds a graph read from a file after checking every value, so a search can never leave the arrays;
    /// returns null with <paramref name="problem"/> set when something does not hold.
    /// </summary>
    public static CentroidGraph? FromParts(float[] centroids, int count, int dimension, Metric rankingMetric, int m,
        int[] levels, int[] level0, int[] upper, int entryPoint, out string? problem)
    {
        problem = Check(count, m, levels, level0, upper, entryPoint);
        return problem == null ? new CentroidGraph(centroids, count, dimension, rankingMetric, m, levels, level0, upper, entryPoint) : null;
    }

    /// <summary>Length of the upper-level array the levels call for, or −1 when a level is out of range.</summary>
    public static long UpperLength(ReadOnlySpan<int> levels, int m)
    {
        long total = 0;
        foreach (int level in levels)
        {
            if ((uint)level > MaxLevelLimit) return -1;
            total += (long)level * m;
        }
        return total;
    }

    private static string? Check(int count, int m, int[] levels, int[] level0, int[] upper, int entryPoint)
    {
        if (m < 2 || m > 1024) return $"invalid neighbour count M {m}";
        if (levels.Length != count || level0.Length != (long)count * 2 * m || UpperLength(levels, m) != upper.Length) return "array lengths do not match the node count";
        if ((uint)entryPoint >= (uint)count) return $"entry point {entryPoint} out of range";
        int top = levels[entryPoint];
        for (int i = 0; i < count; i++)
        {
            if ((uint)levels[i] > (uint)top) return $"node {i} has level {levels[i]}, above the entry point's {top}";
        }
        var starts = UpperStarts(levels, m, out _);
        for (int node = 0; node < count; node++)
        {
            for (int level = 0; level <= levels[node]; level++)
            {
                var slots = level == 0 ? level0.AsSpan(node * 2 * m, 2 * m) : upper.AsSpan(starts[node] + (level - 1) * m, m);
                bool ended = false;
                foreach (int neighbour in slots)
                {
                    if (neighbour == -1) { ended = true; continue; }
                    if (ended || (uint)neighbour >= (uint)count || neighbour == node || levels[neighbour] < level)
                        return $"node {node} has an invalid neighbour {neighbour} on level {level}";
                }
            }
        }
        return null;
    }

    private static int TopNode(int[] levels)
    {
        int top = 0;
        for (int i = 1; i < levels.Length; i++) if (levels[i] > levels[top]) top = i;
        return top;
    }

    private static int[] UpperStarts(int[] levels, int m, out int length)
    {
        var starts = new int[levels.Length];
        int at = 0;
        for (int i = 0; i < levels.Length; i++)
        {
            starts[i] = levels[i] > 0 ? at : -1;
            at += levels[i] * m;
        }
        length = at;
        return starts;
    }

    private ReadOnlySpan<float> Row(int node) => _centroids.AsSpan(node * Dimension, Dimension);

    private Span<int> Neighbours(int node, int level) => level == 0
        ? Level0.AsSpan(node * M0, M0)
        : Upper.AsSpan(_upperStart[node] + (level - 1) * M, M);

    /// <summary>The distance construction ranks by: the ranking distance between two centroids (see the remarks).</summary>
    private float NodeDistance(int a, int b) => RankingMetric == Metric.InnerProduct
        ? -VectorKernels.Dot(Row(a), Row(b))
        : VectorKernels.SquaredL2(Row(a), Row(b));

    /// <summary>
    /// Writes the <c>lists.Length</c> cells nearest to <paramref name="query"/>, nearest first, with the ranking
    /// distances the flat probe reports (<see cref="ExactDistances"/>); returns how many were written. A beam of
    /// <paramref name="ef"/> (at least the count asked for) searches level 0; returns the distance computations made
    /// in <paramref name="computations"/>.
    /// </summary>
    public int Probe(ReadOnlySpan<float> query, Span<long> lists, Span<float> distances, int ef, out int computations)
    {
        int wanted = Math.Min(lists.Length, Count);
        var scratch = GraphScratch.Current;
        var target = new QueryTarget(this, query);
        computations = SearchFromTop(ref target, Math.Max(ef, wanted), scratch);
        // The beam holds its nodes as a max-heap on distance; the nearest `wanted + margin` get exact distances.
        int found = scratch.Results.Count;
        var ids = scratch.Sorted(found);
        for (int i = found - 1; i >= 0; i--) ids[i] = scratch.Results.PopId();
        int keep = Math.Min(found, wanted + ExactMargin);
        var exact = scratch.Exact(keep);
        ExactDistances(query, ids[..keep], exact);
        var heap = new TopKHeap(distances[..Math.Min(wanted, keep)], lists[..Math.Min(wanted, keep)]);
        for (int i = 0; i < keep; i++) heap.Push(exact[i], ids[i]);
        return heap.SortAscending();
    }

    /// <summary>
    /// Cells ranked just past the nprobe-th by the traversal that still get exact distances, so a float-rounding
    /// difference between the two ways of computing a distance cannot swap the last cell for a nearer one.
    /// </summary>
    private const int ExactMargin = 4;

    /// <summary>The nearest cell of one vector, found with a beam of <paramref name="ef"/>.</summary>
    public int Nearest(ReadOnlySpan<float> vector, int ef)
    {
        var scratch = GraphScratch.Current;
        var target = new QueryTarget(this, vector);
        SearchFromTop(ref target, ef, scratch);
        int best = -1;
        while (scratch.Results.Count > 0) best = scratch.Results.PopId();
        return best;
    }

    /// <summary>The nearest cell of each of <paramref name="n"/> row-major vectors, in parallel chunks.</summary>
    public void NearestMany(ReadOnlySpan<float> vectors, int n, int[] nearest, int ef, int threads)
    {
        const int chunk = 256;
        int dim = Dimension;
        unsafe
        {
            fixed (float* basePointer = vectors)
            {
                nint address = (nint)basePointer;
                Parallel.For(0, (n + chunk - 1) / chunk, Parallelism.Options(threads), c =>
                {
                    int end = Math.Min(n, (c + 1) * chunk);
                    for (int i = c * chunk; i < end; i++)
                        nearest[i] = Nearest(new ReadOnlySpan<float>((float*)address + (long)i * dim, dim), ef);
                });
            }
        }
    }

    /// <summary>
    /// The ranking distances of <paramref name="cells"/> computed as <see cref="CentroidTable.ComputeAll(ReadOnlySpan{float}, Span{float})"/> does for
    /// the flat probe, operation for operation (one fused multiply-add chain per cell over the dimensions, then
    /// ‖c‖² + ‖q‖² − 2⟨q, c⟩ for L2 or −⟨q, c⟩ for inner product), so both probes report identical values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ExactDistances(ReadOnlySpan<float> query, ReadOnlySpan<int> cells, Span<float> distances)
    {
        bool ip = RankingMetric == Metric.InnerProduct;
        float pointTerm = ip ? 0f : VectorKernels.SquaredNorm(query);
        float scale = ip ? -1f : -2f;
        int dim = Dimension;
        int i = 0;
        for (; i + 4 <= cells.Length; i += 4)
        {
            // Four independent chains hide the latency of each fused multiply-add.
            var c0 = Row(cells[i]); var c1 = Row(cells[i + 1]); var c2 = Row(cells[i + 2]); var c3 = Row(cells[i + 3]);
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int j = 0; j < dim; j++)
            {
                float x = query[j];
                a0 = MathF.FusedMultiplyAdd(x, c0[j], a0);
                a1 = MathF.FusedMultiplyAdd(x, c1[j], a1);
                a2 = MathF.FusedMultiplyAdd(x, c2[j], a2);
                a3 = MathF.FusedMultiplyAdd(x, c3[j], a3);
            }
            distances[i] = Finish(a0, cells[i], ip, scale, pointTerm);
            distances[i + 1] = Finish(a1, cells[i + 1], ip, scale, pointTerm);
            distances[i + 2] = Finish(a2, cells[i + 2], ip, scale, pointTerm);
            distances[i + 3] = Finish(a3, cells[i + 3], ip, scale, pointTerm);
        }
        for (; i < cells.Length; i++)
        {
            var c = Row(cells[i]);
            float a = 0;
            for (int j = 0; j < dim; j++) a = MathF.FusedMultiplyAdd(query[j], c[j], a);
            distances[i] = Finish(a, cells[i], ip, scale, pointTerm);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Finish(float dot, int cell, bool ip, float scale, float pointTerm)
        => MathF.FusedMultiplyAdd(dot, scale, (ip ? 0f : _norms[cell]) + pointTerm);

    /// <summary>Greedy descent through the upper levels, then a beam of <paramref name="ef"/> on level 0; the beam is left in the scratch's results.</summary>
    private int SearchFromTop<T>(ref T target, int ef, GraphScratch scratch) where T : struct, ITarget, allows ref struct
    {
        int current = EntryPoint;
        float distance = target.To(current);
        int computations = 1;
        for (int level = MaxLevel; level > 0; level--)
            computations += Greedy(ref target, ref current, ref distance, level);
        return computations + SearchLevel(ref target, current, distance, ef, 0, scratch);
    }

    private int Greedy<T>(ref T target, ref int current, ref float distance, int level) where T : struct, ITarget, allows ref struct
    {
        int computations = 0;
        bool moved = true;
        while (moved)
        {
            moved = false;
            foreach (int neighbour in Neighbours(current, level))
            {
                if (neighbour < 0) break;
                float d = target.To(neighbour);
                computations++;
                if (d < distance)
                {
                    distance = d;
                    current = neighbour;
                    moved = true;
                }
            }
        }
        return computations;
    }

    /// <summary>
    /// The paper's SEARCH-LAYER: a best-first expansion from <paramref name="entry"/> keeping the <paramref name="ef"/>
    /// nearest nodes seen (in the scratch's results, a max-heap) and stopping when the nearest unexpanded candidate
    /// is farther than the farthest kept. Returns the distance computations made.
    /// </summary>
    private int SearchLevel<T>(ref T target, int entry, float entryDistance, int ef, int level, GraphScratch scratch) where T : struct, ITarget, allows ref struct
    {
        var candidates = scratch.Candidates;
        var results = scratch.Results;
        candidates.Clear();
        results.Clear();
        scratch.BeginVisit(Count);
        scratch.Visit(entry);
        candidates.Push(entryDistance, entry);
        results.Push(-entryDistance, entry);
        int computations = 0;
        while (candidates.Count > 0)
        {
            float nearest = candidates.TopKey;
            if (results.Count >= ef && nearest > -results.TopKey) break;
            int node = candidates.PopId();
            var slots = Neighbours(node, level);
            for (int i = 0; i < slots.Length; i++)
            {
                int neighbour = slots[i];
                if (neighbour < 0) break;
                if (i + 1 < slots.Length && slots[i + 1] >= 0) Prefetch(slots[i + 1]);
                if (!scratch.Visit(neighbour)) continue;
                float d = target.To(neighbour);
                computations++;
                if (results.Count < ef || d < -results.TopKey)
                {
                    candidates.Push(d, neighbour);
                    results.Push(-d, neighbour);
                    if (results.Count > ef) results.PopId();
                }
            }
        }
        return computations;
    }

    /// <summary>
    /// Asks for the first cache lines of a centroid ahead of its distance (the hardware prefetcher follows the
    /// rest): a probe's time goes to memory latency, one random 1.5 KB row per distance at d = 384.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(int node)
    {
        if (!Sse.IsSupported) return;
        byte* row = (byte*)Unsafe.AsPointer(ref _centroids[node * Dimension]);
        Sse.Prefetch0(row);
        Sse.Prefetch0(row + 64);
        Sse.Prefetch0(row + 128);
        Sse.Prefetch0(row + 192);
    }

    /// <summary>What a search measures distances to: a query, or (while building) a node.</summary>
    private interface ITarget
    {
        float To(int node);
    }

    private readonly ref struct QueryTarget(CentroidGraph graph, ReadOnlySpan<float> query) : ITarget
    {
        private readonly ReadOnlySpan<float> _query = query;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int node) => graph.RankingMetric == Metric.InnerProduct
            ? -VectorKernels.Dot(_query, graph.Row(node))
            : VectorKernels.SquaredL2(_query, graph.Row(node));
    }

    private readonly struct NodeTarget(CentroidGraph graph, int node) : ITarget
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int other) => graph.NodeDistance(node, other);
    }

    /// <summary>Inserts the nodes one after another, in id order, so a seed fixes the graph.</summary>
    private sealed class Builder(CentroidGraph graph, int efConstruction)
    {
        private readonly GraphScratch _scratch = new();
        private readonly List<(float Distance, int Node)> _found = [];
        private readonly List<(float Distance, int Node)> _kept = [];
        private int _top = -1;
        private int _topLevel = -1;

        public void InsertAll()
        {
            for (int node = 0; node < graph.Count; node++) Insert(node);
        }

        private void Insert(int node)
        {
            int level = graph.Levels[node];
            if (_top < 0)
            {
                _top = node;
                _topLevel = level;
                return;
            }
            var target = new NodeTarget(graph, node);
            int current = _top;
            float distance = target.To(current);
            for (int l = _topLevel; l > level; l--) graph.Greedy(ref target, ref current, ref distance, l);
            for (int l = Math.Min(level, _topLevel); l >= 0; l--)
            {
                graph.SearchLevel(ref target, current, distance, efConstruction, l, _scratch);
                _found.Clear();
                while (_scratch.Results.Count > 0)
                {
                    float d = -_scratch.Results.TopKey;
                    _found.Add((d, _scratch.Results.PopId()));
                }
                _found.Reverse();
                (distance, current) = _found[0];
                SelectNeighbours(_found, graph.M);
                var slots = graph.Neighbours(node, l);
                for (int i = 0; i < _kept.Count; i++) slots[i] = _kept[i].Node;
                int limit = l == 0 ? graph.M0 : graph.M;
                foreach (var (d, neighbour) in _kept.ToArray()) Connect(neighbour, node, d, l, limit);
            }
            if (level > _topLevel)
            {
                _top = node;
                _topLevel = level;
            }
        }

        /// <summary>Adds <paramref name="node"/> to <paramref name="to"/>'s list, re-selecting with the heuristic when it is full.</summary>
        private void Connect(int to, int node, float distance, int level, int limit)
        {
            var slots = graph.Neighbours(to, level);
            int used = slots.IndexOf(-1);
            if (used >= 0)
            {
                slots[used] = node;
                return;
            }
            _found.Clear();
            _found.Add((distance, node));
            foreach (int neighbour in slots) _found.Add((graph.NodeDistance(to, neighbour), neighbour));
            _found.Sort();
            SelectNeighbours(_found, limit);
            slots.Fill(-1);
            for (int i = 0; i < _kept.Count; i++) slots[i] = _kept[i].Node;
        }

        /// <summary>
        /// The paper's SELECT-NEIGHBORS-HEURISTIC over candidates sorted nearest first: a candidate is kept when it
        /// is nearer to the base node than to every candidate kept before it, so neighbours spread in direction;
        /// free slots are then filled with the nearest candidates pruned.
        /// </summary>
        private void SelectNeighbours(List<(float Distance, int Node)> sorted, int limit)
        {
            _kept.Clear();
            foreach (var candidate in sorted)
            {
                if (_kept.Count >= limit) break;
                bool diverse = true;
                foreach (var kept in _kept)
                {
                    if (graph.NodeDistance(candidate.Node, kept.Node) < candidate.Distance)
                    {
                        diverse = false;
                        break;
                    }
                }
                if (diverse) _kept.Add(candidate);
            }
            // The paper's keepPrunedConnections: fill the free slots with the nearest pruned candidates. Without it
            // tight groups of centroids (near-duplicate rows) leave nodes with few links, and at nlist 65,536 the
            // beam could not reach the nearest cell for 5% of the queries whatever its width.
            foreach (var candidate in sorted)
            {
                if (_kept.Count >= limit) break;
                if (!_kept.Contains(candidate)) _kept.Add(candidate);
            }
        }
    }
}

/// <summary>A binary min-heap of (key, node) pairs on reusable arrays.</summary>
internal sealed class NodeHeap
{
    private float[] _keys = new float[64];
    private int[] _ids = new int[64];

    public int Count { get; private set; }
    public float TopKey => _keys[0];

    public void Clear() => Count = 0;

    public void Push(float key, int id)
    {
        if (Count == _keys.Length)
        {
            Array.Resize(ref _keys, Count * 2);
            Array.Resize(ref _ids, Count * 2);
        }
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_keys[parent] <= key) break;
            _keys[i] = _keys[parent];
            _ids[i] = _ids[parent];
            i = parent;
        }
        _keys[i] = key;
        _ids[i] = id;
    }

    /// <summary>Removes the smallest and returns its node.</summary>
    public int PopId()
    {
        int top = _ids[0];
        int last = --Count;
        float key = _keys[last];
        int id = _ids[last];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= last) break;
            if (child + 1 < last && _keys[child + 1] < _keys[child]) child++;
            if (_keys[child] >= key) break;
            _keys[i] = _keys[child];
            _ids[i] = _ids[child];
            i = child;
        }
        _keys[i] = key;
        _ids[i] = id;
        return top;
    }
}

/// <summary>Per-thread working memory of graph searches: visit marks, the two heaps, and output buffers.</summary>
internal sealed class GraphScratch
{
    [ThreadStatic] private static GraphScratch? t_current;

    private int[] _marks = [];
    private int _epoch;
    private int[] _sorted = [];
    private float[] _exact = [];

    public static GraphScratch Current => t_current ??= new GraphScratch();

    public NodeHeap Candidates { get; } = new();
    public NodeHeap Results { get; } = new();

    public void BeginVisit(int count)
    {
        if (_marks.Length < count)
        {
            _marks = new int[count];
            _epoch = 0;
        }
        if (++_epoch == int.MaxValue)
        {
            Array.Clear(_marks);
            _epoch = 1;
        }
    }

    /// <summary>Marks <paramref name="node"/> visited; false when it already was.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Visit(int node)
    {
        if (_marks[node] == _epoch) return false;
        _marks[node] = _epoch;
        return true;
    }

    public Span<int> Sorted(int length) => Take(ref _sorted, length);
    public Span<float> Exact(int length) => Take(ref _exact, length);

    private static Span<T> Take<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[Math.Max(length, buffer.Length * 2)];
        return buffer.AsSpan(0, length);
    }
}
