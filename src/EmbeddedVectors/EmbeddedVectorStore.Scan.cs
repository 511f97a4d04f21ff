using EmbeddedVectors.Lists;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>
    /// The ids of the live entries whose metadata fields pass <paramref name="where"/> (every live entry when null),
    /// ascending: for listing, paging and filtered retrieval without a query vector. Reads one snapshot, so it sees
    /// the store as of the call; costs one pass over the ids (and the field columns, with a filter).
    /// </summary>
    /// <exception cref="ArgumentException">The filter names an undeclared field or a value of another type.</exception>
    public long[] FindIds(Filter? where = null)
    {
        ThrowIfDisposed();
        RefreshIfChanged(); // first, so the filter may name a field another process added since the last look
        var node = where?.Compile(_manifest.Fields);
        var snapshot = AcquireSnapshot();
        try
        {
            var found = new List<long>();
            // An untrained store keeps everything in cell 0 of its write buffer; a trained one spreads every source over nlist cells.
            int cells = snapshot.Quantizer?.NList ?? 1;
            var sources = snapshot.Quantizer == null ? [snapshot.Buffer] : snapshot.Sources;
            foreach (var source in sources)
            {
                var fields = source as IFieldLists;
                for (int c = 0; c < cells; c++)
                {
                    var run = source.Cell(c);
                    if (run.Count == 0) continue;
                    long start = 0;
                    var columns = node == null ? null : fields?.Columns(c, out start);
                    for (int i = 0; i < run.Count; i++)
                    {
                        if (run.Liveness.IsDeleted(i)) continue;
                        long id = run.Ids[i];
                        if (node == null || node.Match(columns, (int)(start + i), id)) found.Add(id);
                    }
                }
            }
            var ids = found.ToArray();
            Array.Sort(ids);
            return ids;
        }
        finally { snapshot.Release(); }
    }
}
