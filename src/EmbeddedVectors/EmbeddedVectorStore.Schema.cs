namespace EmbeddedVectors;

// Changing the declared fields of an existing store. Fields are only ever appended, so an ordinal keeps its
// meaning in every log record and column file written before the change, and a segment whose field file has no
// column for a field reads it as null (docs/format/fields.md).
public sealed partial class EmbeddedVectorStore
{
    /// <summary>
    /// Declares more metadata fields, after the existing ones. Entries already stored hold null in them until they
    /// are upserted with values (an add with the same id). The change is durable when this returns, and anything
    /// added before the call is committed with it. Another process that has the store open read-only sees the new
    /// fields at its next <see cref="Refresh"/>.
    /// </summary>
    /// <param name="fields">The fields to add; none may be declared already.</param>
    /// <exception cref="ArgumentException">A name is invalid, repeated, or already declared (the message names it and its declared type).</exception>
    /// <exception cref="InvalidOperationException">The store is read-only.</exception>
    public void AddFields(params IReadOnlyList<FieldDefinition> fields)
    {
        ThrowIfReadOnly();
        ArgumentNullException.ThrowIfNull(fields);
        lock (_writer)
        {
            ThrowIfDisposed();
            var current = _manifest.Fields;
            foreach (var field in fields)
            {
                ArgumentNullException.ThrowIfNull(field, nameof(fields));
                int declared = FieldTypes.IndexOf(current, field.Name);
                if (declared >= 0)
                    throw new ArgumentException($"field '{field.Name}' is already declared ({current[declared].TypeName}); a field's type cannot change.", nameof(fields));
            }
            FieldDefinition[] schema = [.. current, .. fields];
            FieldTypes.ValidateSchema(schema);
            if (fields.Count == 0) return;
            try { AddFieldsLocked(schema); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "adding fields"); }
        }
    }

    private void AddFieldsLocked(FieldDefinition[] schema)
    {
        // The write buffer's columns were made for the old fields. A trained store seals it (the segment's field
        // file then lacks the new columns: null); an untrained one has nowhere to seal to, so its entries are
        // re-filed into a buffer with every column. The commit makes everything added before the call durable with
        // the change, as the documentation promises.
        _log.Commit();
        SealLocked();
        var manifest = _manifest with { Fields = schema, Generation = _manifest.Generation + 1 };
        manifest.Write(StorePath);
        RefileBufferLocked(manifest, _quantizer);
    }
}
